package lambdart

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// runtimeAPI serves the Runtime API of every instance of the pool on one
// listener: instance n's AWS_LAMBDA_RUNTIME_API is "127.0.0.1:port/i/n", and
// aws-lambda-go appends "/2018-06-01/runtime/...". The Extensions API is
// served just enough for aws-lambda-go's WithEnableSIGTERM.
func (p *Pool) runtimeAPI() http.Handler {
	mux := http.NewServeMux()
	const rt = "/i/{inst}/2018-06-01/runtime"
	mux.HandleFunc("GET "+rt+"/invocation/next", p.handleNext)
	mux.HandleFunc("POST "+rt+"/invocation/{id}/response", p.handleResponse)
	mux.HandleFunc("POST "+rt+"/invocation/{id}/error", p.handleError)
	mux.HandleFunc("POST "+rt+"/init/error", p.handleInitError)
	const ext = "/i/{inst}/2020-01-01/extension"
	mux.HandleFunc("POST "+ext+"/register", p.handleRegisterExtension)
	mux.HandleFunc("GET "+ext+"/event/next", p.handleExtensionNext)
	return mux
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(FunctionError{Type: typ, Message: msg})
}

// handleNext gives the process its next invocation, waiting for one.
func (p *Pool) handleNext(w http.ResponseWriter, r *http.Request) {
	inst := p.instance(r)
	if inst == nil {
		apiError(w, http.StatusNotFound, "InvalidInstance", "no such execution environment")
		return
	}
	if !inst.initDone.Load() {
		inst.initDuration.Store(int64(time.Since(inst.started)))
		inst.initDone.Store(true)
	}
	var inv *invocation
	select {
	case inv = <-inst.work:
	case <-r.Context().Done():
		return
	case <-p.closing:
		// Hold the request until Close kills the process: an answer would have the
		// runtime log a failed /next and exit, noise on every stop.
		select {
		case <-r.Context().Done():
		case <-inst.exited:
		}
		return
	}
	now := time.Now()
	inv.deliveredAt = now
	inv.deadline = now.Add(p.opts.Function.Timeout)
	inst.mu.Lock()
	inst.current = inv
	inst.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", p.opts.Region, p.opts.AccountID, p.name))
	h.Set("Lambda-Runtime-Trace-Id", fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", now.Unix(), randomHex(24), randomHex(16)))
	p.log.Printf(inst.prefix, "START RequestId: %s Version: $LATEST", inv.id)
	close(inv.delivered)
	_, _ = w.Write(inv.payload)
}

// claim takes the instance's current invocation if its ID is id.
func (p *Pool) claim(w http.ResponseWriter, r *http.Request) (*instance, *invocation) {
	inst := p.instance(r)
	if inst == nil {
		apiError(w, http.StatusNotFound, "InvalidInstance", "no such execution environment")
		return nil, nil
	}
	inst.mu.Lock()
	defer inst.mu.Unlock()
	inv := inst.current
	if inv == nil || inv.id != r.PathValue("id") {
		apiError(w, http.StatusBadRequest, "InvalidRequestID", "invalid request ID")
		return nil, nil
	}
	inst.current = nil
	return inst, inv
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

// handleResponse records an invocation's response.
func (p *Pool) handleResponse(w http.ResponseWriter, r *http.Request) {
	_, inv := p.claim(w, r)
	if inv == nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	at := time.Now()
	switch {
	case err != nil:
		inv.done <- result{fnErr: &FunctionError{Type: "Runtime.Unknown", Message: "reading the response: " + err.Error()}, at: at}
	case len(body) > MaxPayload:
		inv.done <- result{fnErr: &FunctionError{Type: "Function.ResponseSizeTooLarge", Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxPayload)}, at: at}
		apiError(w, http.StatusRequestEntityTooLarge, "Function.ResponseSizeTooLarge", "response payload too large")
		return
	case r.Trailer.Get("Lambda-Runtime-Function-Error-Type") != "":
		// aws-lambda-go reports an error met while streaming the response
		// in trailers.
		fe := &FunctionError{Type: r.Trailer.Get("Lambda-Runtime-Function-Error-Type")}
		if raw, err := base64.StdEncoding.DecodeString(r.Trailer.Get("Lambda-Runtime-Function-Error-Body")); err == nil {
			_ = json.Unmarshal(raw, fe)
		}
		inv.done <- result{fnErr: fe, at: at}
	default:
		inv.done <- result{resp: body, at: at}
	}
	accepted(w)
}

// handleError records an invocation's error.
func (p *Pool) handleError(w http.ResponseWriter, r *http.Request) {
	_, inv := p.claim(w, r)
	if inv == nil {
		return
	}
	inv.done <- result{fnErr: readFunctionError(r, "Unhandled"), at: time.Now()}
	accepted(w)
}

// handleInitError records a failed init; the process is then discarded.
func (p *Pool) handleInitError(w http.ResponseWriter, r *http.Request) {
	inst := p.instance(r)
	if inst == nil {
		apiError(w, http.StatusNotFound, "InvalidInstance", "no such execution environment")
		return
	}
	fe := readFunctionError(r, "Runtime.InitError")
	inst.mu.Lock()
	inst.initErr = fe
	inst.mu.Unlock()
	p.log.Printf(inst.prefix, "init error: %s", fe)
	accepted(w)
	go p.kill(inst)
}

func readFunctionError(r *http.Request, defaultType string) *FunctionError {
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxPayload))
	fe := &FunctionError{}
	if err := json.Unmarshal(body, fe); err != nil || fe.Type == "" && fe.Message == "" {
		fe = &FunctionError{Message: string(body)}
	}
	if fe.Type == "" {
		fe.Type = r.Header.Get("Lambda-Runtime-Function-Error-Type")
	}
	if fe.Type == "" {
		fe.Type = defaultType
	}
	return fe
}

// handleRegisterExtension accepts an internal extension's registration; its
// only effect is that the process gets SIGTERM before SIGKILL at shutdown.
func (p *Pool) handleRegisterExtension(w http.ResponseWriter, r *http.Request) {
	inst := p.instance(r)
	if inst == nil {
		apiError(w, http.StatusNotFound, "InvalidInstance", "no such execution environment")
		return
	}
	inst.extension.Store(true)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Lambda-Extension-Identifier", NewRequestID())
	_ = json.NewEncoder(w).Encode(map[string]string{
		"functionName":    p.name,
		"functionVersion": "$LATEST",
		"handler":         p.opts.Function.Handler,
	})
}

// handleExtensionNext blocks: no extension events are ever sent.
func (p *Pool) handleExtensionNext(w http.ResponseWriter, r *http.Request) {
	inst := p.instance(r)
	if inst == nil {
		apiError(w, http.StatusNotFound, "InvalidInstance", "no such execution environment")
		return
	}
	select {
	case <-r.Context().Done():
	case <-inst.exited:
	case <-p.closing:
	}
}

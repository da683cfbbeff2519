// Command echo is a test function for the local Lambda runtime. Its event
// says what to do: {"action": "echo" | "env" | "sleep" | "wait" | "error" |
// "panic" | "crash" | "context" | "log", ...}.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Action  string `json:"action"`
	Ms      int    `json:"ms"`
	Message string `json:"message"`
	URL     string `json:"url"`
	Lines   int    `json:"lines"`
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, err
	}
	switch req.Action {
	case "echo":
		return raw, nil
	case "env":
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		return env, nil
	case "sleep":
		time.Sleep(time.Duration(req.Ms) * time.Millisecond)
		return map[string]int{"pid": os.Getpid()}, nil
	case "wait":
		// Tell the test server this process is busy, and wait until it says go.
		resp, err := http.Get(fmt.Sprintf("%s?pid=%d", req.URL, os.Getpid()))
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		return map[string]int{"pid": os.Getpid()}, nil
	case "error":
		return nil, errors.New(req.Message)
	case "panic":
		panic(req.Message)
	case "crash":
		os.Exit(3)
	case "log":
		// Lines to stdout and stderr, then the answer: all of them belong before END.
		lc, _ := lambdacontext.FromContext(ctx)
		for i := range req.Lines {
			out := os.Stdout
			if i%2 == 1 {
				out = os.Stderr
			}
			fmt.Fprintf(out, "line %d of %s %s\n", i+1, lc.AwsRequestID, strings.Repeat("x", 200))
		}
		return map[string]string{"requestId": lc.AwsRequestID}, nil
	case "big":
		return strings.Repeat("x", req.Ms), nil
	case "context":
		lc, _ := lambdacontext.FromContext(ctx)
		deadline, _ := ctx.Deadline()
		return map[string]any{
			"requestId":   lc.AwsRequestID,
			"functionArn": lc.InvokedFunctionArn,
			"deadlineIn":  time.Until(deadline).Milliseconds(),
			"pid":         os.Getpid(),
		}, nil
	}
	return nil, fmt.Errorf("unknown action %q", req.Action)
}

func main() {
	if os.Getenv("CRASH_AT_INIT") != "" {
		fmt.Println("crashing at init")
		os.Exit(1)
	}
	fmt.Println("echo init")
	lambda.Start(handle)
}

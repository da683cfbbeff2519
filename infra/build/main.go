// Command build cross-compiles every function of template.yaml as `sam build` does for the
// deployed architecture (linux/arm64, -tags lambda.norpc -trimpath -ldflags "-s -w",
// CGO_ENABLED=0), to <out>/<LogicalID>/bootstrap. Function IDs and code folders come from the
// template, so a new function needs no edit here or in the Makefile.
//
//	go run ./infra/build [-o build] [-template template.yaml]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"sectorhub/infra/samtemplate"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	out := fs.String("o", "build", "output directory")
	path := fs.String("template", "template.yaml", "the SAM template")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tmpl, err := samtemplate.Load(*path)
	if err != nil {
		return err
	}
	if len(tmpl.Functions) == 0 {
		return fmt.Errorf("%s has no functions", *path)
	}
	for _, fn := range tmpl.Functions {
		dst := filepath.Join(*out, fn.LogicalID, "bootstrap")
		fmt.Printf("build %s <- %s\n", fn.LogicalID, fn.CodeUri)
		cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", dst, "./"+fn.CodeUri)
		cmd.Dir = tmpl.Dir
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch(fn.Architectures), "CGO_ENABLED=0")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", fn.LogicalID, err)
		}
	}
	return nil
}

// goarch maps a Lambda architecture to GOARCH.
func goarch(archs []string) string {
	if len(archs) == 1 && archs[0] == "x86_64" {
		return "amd64"
	}
	return "arm64"
}

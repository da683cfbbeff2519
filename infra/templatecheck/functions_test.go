package templatecheck

import (
	"go/build"
	"os"
	"path/filepath"
	"testing"
)

func TestFunctionsAreMainPackagesThatBuild(t *testing.T) {
	tmpl := loadTemplate(t)
	if len(tmpl.Functions) == 0 {
		t.Fatal("template.yaml has no AWS::Serverless::Function")
	}
	for _, fn := range tmpl.Functions {
		t.Run(fn.LogicalID, func(t *testing.T) {
			dir := filepath.Join(tmpl.Dir, fn.CodeUri)
			if info, err := os.Stat(dir); err != nil || !info.IsDir() {
				t.Fatalf("CodeUri %s is not a directory (%v)", fn.CodeUri, err)
			}
			pkg, err := build.ImportDir(dir, 0)
			if err != nil {
				t.Fatalf("CodeUri %s: %v", fn.CodeUri, err)
			}
			if pkg.Name != "main" {
				t.Fatalf("CodeUri %s is package %s; want package main", fn.CodeUri, pkg.Name)
			}
			if fn.Handler != "bootstrap" {
				t.Errorf("Handler = %q; want bootstrap (provided.al2023 runs the executable named bootstrap)", fn.Handler)
			}
			binary(t, fn)
		})
	}
}

package apprunner

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// modelPath is the App Runner model the generator reads, kept in the
// repository so that this test always runs.
const modelPath = "gen/model/apprunner.smithy.json"

// TestGeneratedUpToDate regenerates the *_gen.go files and compares them with the committed ones.
func TestGeneratedUpToDate(t *testing.T) {
	if _, err := os.Stat(modelPath); err != nil {
		t.Fatalf("the model must be in the repository: %v", err)
	}
	model, err := filepath.Abs(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command("go", "run", "./gen", "-model", model, "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./gen: %v\n%s", err, b)
	}
	fresh, _ := filepath.Glob(filepath.Join(out, "*_gen.go"))
	committed, _ := filepath.Glob("*_gen.go")
	if len(fresh) != len(committed) {
		t.Errorf("generator writes %d files, package has %d; run go generate", len(fresh), len(committed))
	}
	for _, f := range fresh {
		name := filepath.Base(f)
		want, _ := os.ReadFile(f)
		got, err := os.ReadFile(name)
		if err != nil {
			t.Errorf("%s: %v; run go generate", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale; run go generate ./internal/apprunner", name)
		}
	}
}

func TestOperations(t *testing.T) {
	if got := len(Operations); got != 37 {
		t.Errorf("len(Operations) = %d, want 37", got)
	}
	op, ok := LookupOperation("ListServices")
	if !ok {
		t.Fatal("ListServices not found")
	}
	want := Pagination{InputToken: "NextToken", OutputToken: "NextToken", Items: "ServiceSummaryList", PageSize: "MaxResults"}
	if !op.Paginated || op.Pagination != want {
		t.Errorf("ListServices pagination = %v %+v, want %+v", op.Paginated, op.Pagination, want)
	}
	op, _ = LookupOperation("AssociateCustomDomain")
	if got, want := op.Errors, []string{"InternalServiceErrorException", "InvalidRequestException", "InvalidStateException"}; !equalStrings(got, want) {
		t.Errorf("AssociateCustomDomain errors = %v, want %v", got, want)
	}
	if op.Paginated {
		t.Error("AssociateCustomDomain is not paginated")
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

package schemas

import (
	"bytes"
	"os"
	"testing"
)

// The embedded reference is the steering repository's, byte for byte, when
// that repository is checked out beside this one.
func TestReferenceIsTheSteeringCopy(t *testing.T) {
	data, err := os.ReadFile("../../shared/reference/assessment_run.schema.json")
	if err != nil {
		t.Skipf("steering repository not beside this one (%v); the embedded copy is used as is", err)
	}
	if !bytes.Equal(data, ReferenceJSON) {
		t.Error("schemas/reference/assessment_run.schema.json differs from shared/reference: copy the new reference and check compatibility")
	}
}

func TestBothSchemasCompile(t *testing.T) {
	if _, err := AssessmentRun(); err != nil {
		t.Fatal(err)
	}
	if _, err := Reference(); err != nil {
		t.Fatal(err)
	}
}

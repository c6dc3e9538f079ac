package artefacts

import "time"

// Timestamp renders t in RFC 3339 UTC with the precision it has.
func Timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

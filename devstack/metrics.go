package devstack

import (
	"time"

	"eng5np/events"
)

// stackMetrics records what the stack does. A nil *stackMetrics records
// nothing, so components work without a registry.
type stackMetrics struct{}

func (m *stackMetrics) fault(name string) {}

func (m *stackMetrics) callbackPublished(cb *events.ComparisonResult, d time.Duration) {}

func (m *stackMetrics) batchStarted() {}

func (m *stackMetrics) waveSent(pairs int) {}

func (m *stackMetrics) batchFinished(status string) {}

func newStackMetrics() *stackMetrics { return &stackMetrics{} }

package tracing

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// XRayIDGenerator returns the Provider's ID generator: see xrayIDs.
func XRayIDGenerator() sdktrace.IDGenerator { return xrayIDs{} }

// xrayIDs makes trace IDs as X-Ray does: the first 4 bytes are the start
// time in Unix seconds, the rest random. They are valid W3C trace IDs too,
// and X-Ray (through a collector's awsxray exporter) accepts only these.
// A context made by WithTraceID sets the trace ID instead.
type xrayIDs struct{}

func (xrayIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if tid, ok := ctx.Value(traceIDKey{}).(trace.TraceID); ok && tid.IsValid() {
		return tid, newSpanID()
	}
	var tid trace.TraceID
	binary.BigEndian.PutUint32(tid[:4], uint32(time.Now().Unix()))
	binary.BigEndian.PutUint32(tid[4:8], rand.Uint32())
	binary.BigEndian.PutUint64(tid[8:], rand.Uint64())
	return tid, newSpanID()
}

func (xrayIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	return newSpanID()
}

func newSpanID() trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		binary.BigEndian.PutUint64(sid[:], rand.Uint64())
	}
	return sid
}

var _ sdktrace.IDGenerator = xrayIDs{}

// traceIDKey marks a context whose next root span is to have a given trace
// ID (WithTraceID).
type traceIDKey struct{}

// WithTraceID asks that a root span started with ctx have trace ID tid: a
// trace that began upstream without a span to continue, as an
// X-Amzn-Trace-Id with a Root and no Parent says.
func WithTraceID(ctx context.Context, tid trace.TraceID) context.Context {
	return context.WithValue(ctx, traceIDKey{}, tid)
}

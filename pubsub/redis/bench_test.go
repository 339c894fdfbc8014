package redis

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemhq/tandem/pubsub/pubsubtest"
)

// The benchmarks run against the shared redis-server of TestMain:
//
//	go test -run '^$' -bench . -benchtime 3s ./pubsub/redis/
//
// Results are in docs/bench/redis.md.

// benchOp is a typical op payload, as published on commit.
var benchOp = []byte(`{"src":"b8c2f0a4e1d94c3b","seq":1234,"v":5678,"op":[{"p":["body",120],"si":"hello"}],"c":"notes","d":"a1b2c3d4e5f6"}`)

func benchBroker(b *testing.B) *Broker {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	br, err := New(ctx, Config{URL: sharedURL, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = br.Close() })
	return br
}

func benchChannels(*testing.B) (coll, doc string) {
	coll = "bench-" + time.Now().Format("150405.000000")
	return coll, coll + ".doc"
}

// BenchmarkPublish: one Publish (one EVALSHA) of an op to its collection
// and document channels, one after another.
func BenchmarkPublish(b *testing.B) {
	br := benchBroker(b)
	coll, doc := benchChannels(b)
	chs := []string{coll, doc}
	ctx := context.Background()
	b.SetBytes(int64(len(benchOp)))
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if err := br.Publish(ctx, chs, benchOp); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "publishes/s")
}

// BenchmarkPublishParallel: Publish from GOMAXPROCS goroutines, as many
// document sessions commit at once.
func BenchmarkPublishParallel(b *testing.B) {
	br := benchBroker(b)
	coll, doc := benchChannels(b)
	chs := []string{coll, doc}
	ctx := context.Background()
	b.SetBytes(int64(len(benchOp)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := br.Publish(ctx, chs, benchOp); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "publishes/s")
}

// BenchmarkPublishDeliver: latency from Publish to the handler running on
// another broker (another instance), one message in flight at a time.
func BenchmarkPublishDeliver(b *testing.B) {
	pub, sub := benchBroker(b), benchBroker(b)
	_, doc := benchChannels(b)
	got := make(chan struct{}, 1)
	unsub, err := sub.Subscribe(doc, func(msg []byte) {
		if msg != nil {
			got <- struct{}{}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer unsub()
	ctx := context.Background()
	lat := make([]time.Duration, 0, 1<<16)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if err := pub.Publish(ctx, []string{doc}, benchOp); err != nil {
			b.Fatal(err)
		}
		<-got
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(q(1), "max-µs")
}

// BenchmarkDeliverThroughput: messages per second from 8 publishing
// goroutines on one broker to a handler on another.
func BenchmarkDeliverThroughput(b *testing.B) {
	pub, sub := benchBroker(b), benchBroker(b)
	_, doc := benchChannels(b)
	var n, missed atomic.Int64
	done := make(chan struct{}, 1)
	target := int64(0)
	unsub, err := sub.Subscribe(doc, func(msg []byte) {
		if msg == nil {
			missed.Add(1)
			return
		}
		if n.Add(1) == atomic.LoadInt64(&target) {
			done <- struct{}{}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer unsub()
	ctx := context.Background()
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	atomic.StoreInt64(&target, int64(b.N))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := pub.Publish(ctx, []string{doc}, benchOp); err != nil {
				b.Error(err)
				return
			}
		}
	})
	select {
	case <-done:
	case <-time.After(pubsubtest.Wait):
		b.Fatalf("delivered %d of %d (%d nil)", n.Load(), b.N, missed.Load())
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "delivered/s")
}

// BenchmarkPlainPublishBaseline: a bare go-redis PUBLISH to one channel,
// for scale (Publish runs a script that publishes to two).
func BenchmarkPlainPublishBaseline(b *testing.B) {
	c := plainClient(b, sharedURL)
	_, doc := benchChannels(b)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if err := c.Publish(ctx, doc, benchOp).Err(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "publishes/s")
}

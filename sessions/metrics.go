package sessions

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus collectors of the sessions package.
type Metrics struct {
	Connections   prometheus.Gauge
	OpenDocs      prometheus.Gauge
	OpsCommitted  prometheus.Counter
	CommitBatches prometheus.Histogram
	SubmitLatency prometheus.Histogram
	Retries       prometheus.Counter
	Errors        *prometheus.CounterVec
	Panics        prometheus.Counter
	Messages      *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them with reg (which may
// be nil, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tandem_connections", Help: "Open client connections (all transports).",
		}),
		OpenDocs: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tandem_open_documents", Help: "Document sessions open on this instance.",
		}),
		OpsCommitted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tandem_ops_committed_total", Help: "Ops committed by this instance.",
		}),
		CommitBatches: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tandem_commit_batch_ops", Help: "Ops per store commit (group commit size).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}),
		SubmitLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tandem_submit_latency_seconds", Help: "From receiving an op to sending its ack.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		Retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tandem_commit_retries_total", Help: "Commits retried after a version conflict or store error.",
		}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tandem_errors_total", Help: "Errors sent to clients, by code.",
		}, []string{"code"}),
		Panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tandem_session_panics_total", Help: "Panics recovered in document sessions.",
		}),
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tandem_messages_received_total", Help: "Client messages received, by action.",
		}, []string{"action"}),
	}
	if reg != nil {
		reg.MustRegister(m.Connections, m.OpenDocs, m.OpsCommitted, m.CommitBatches,
			m.SubmitLatency, m.Retries, m.Errors, m.Panics, m.Messages)
	}
	return m
}

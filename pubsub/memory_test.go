package pubsub_test

import (
	"testing"

	"github.com/tandemhq/tandem/pubsub"
	"github.com/tandemhq/tandem/pubsub/pubsubtest"
)

func TestMemoryConformance(t *testing.T) {
	// No WithPeer: two Memory brokers share nothing, so the two-instance
	// test is skipped; sessions share one Memory to simulate instances.
	pubsubtest.Run(t, func(t *testing.T) pubsub.Broker { return pubsub.NewMemory() })
}

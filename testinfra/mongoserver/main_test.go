package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/writeconcern"
)

// startServer runs the server in-process on a free port and returns its URI.
func startServer(t *testing.T, serialize bool) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() {
		done <- run(ctx, config{listen: "127.0.0.1:0", dataDir: t.TempDir(), serialize: serialize}, log,
			func(a string) { addr <- a })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	select {
	case a := <-addr:
		return "mongodb://" + a + "/"
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("server did not start within 60s")
	}
	return ""
}

// connect opens a client of its own (its own connection pool), as a
// separate server instance would.
func connect(t *testing.T, uri string) *mongo.Client {
	t.Helper()
	c, err := mongo.Connect(context.Background(), options.Client().ApplyURI(uri).SetWriteConcern(writeconcern.Majority()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	return c
}

// TestConditionalWritesAreAtomic races clients at each version with
// replaceOne({_id, _v: N}): exactly one may succeed per N, as on MongoDB.
// Then the same for deleteOne({_id, _v: N}) and a conditional updateOne.
// Without the proxy's write lock FerretDB lets several succeed (checked by
// running this test with serialize=false: it fails in the first rounds).
func TestConditionalWritesAreAtomic(t *testing.T) {
	const clients, rounds = 12, 25
	uri := startServer(t, true)
	ctx := t.Context()
	cs := make([]*mongo.Client, clients)
	for i := range cs {
		cs[i] = connect(t, uri)
	}
	coll := func(i int) *mongo.Collection { return cs[i].Database("race").Collection("docs") }
	if _, err := coll(0).InsertOne(ctx, bson.D{{Key: "_id", Value: "d"}, {Key: "_v", Value: int32(0)}}); err != nil {
		t.Fatal(err)
	}

	race := func(what string, n int, write func(i int) (int64, error)) {
		t.Helper()
		var wg sync.WaitGroup
		start := make(chan struct{})
		won := make([]int64, clients)
		errs := make([]error, clients)
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				won[i], errs[i] = write(i)
			}()
		}
		close(start)
		wg.Wait()
		var total int64
		for i := range clients {
			if errs[i] != nil {
				t.Fatalf("%s %d: client %d: %v", what, n, i, errs[i])
			}
			total += won[i]
		}
		if total != 1 {
			t.Fatalf("%s at version %d: %d clients succeeded, want exactly 1", what, n, total)
		}
	}

	for n := range rounds {
		race("replaceOne", n, func(i int) (int64, error) {
			r, err := coll(i).ReplaceOne(ctx, bson.D{{Key: "_id", Value: "d"}, {Key: "_v", Value: n}},
				bson.D{{Key: "_id", Value: "d"}, {Key: "_v", Value: int32(n + 1)}, {Key: "by", Value: i}})
			if err != nil {
				return 0, err
			}
			return r.ModifiedCount, nil
		})
	}
	for n := rounds; n < 2*rounds; n++ {
		race("updateOne", n, func(i int) (int64, error) {
			r, err := coll(i).UpdateOne(ctx, bson.D{{Key: "_id", Value: "d"}, {Key: "_v", Value: n}},
				bson.D{{Key: "$inc", Value: bson.D{{Key: "_v", Value: 1}}}, {Key: "$set", Value: bson.D{{Key: "by", Value: i}}}})
			if err != nil {
				return 0, err
			}
			return r.ModifiedCount, nil
		})
	}
	race("deleteOne", 2*rounds, func(i int) (int64, error) {
		r, err := coll(i).DeleteOne(ctx, bson.D{{Key: "_id", Value: "d"}, {Key: "_v", Value: 2 * rounds}})
		if err != nil {
			return 0, err
		}
		return r.DeletedCount, nil
	})
	for n := range rounds {
		race("insertOne (same _id)", n, func(i int) (int64, error) {
			_, err := coll(i).InsertOne(ctx, bson.D{{Key: "_id", Value: fmt.Sprintf("new%d", n)}, {Key: "by", Value: i}})
			if mongo.IsDuplicateKeyError(err) {
				return 0, nil
			}
			return 1, err
		})
	}
}

// TestDocumentShapes checks that the patched FerretDB stores what MongoDB 7
// stores and JSON documents contain: field names with '.', nested field
// names starting with '$', arrays of arrays, escaped characters in
// top-level field names, NUL in strings, key order.
func TestDocumentShapes(t *testing.T) {
	uri := startServer(t, true)
	coll := connect(t, uri).Database("shapes").Collection("docs")
	ctx := t.Context()
	doc := bson.D{
		{Key: "_id", Value: "x"},
		{Key: "z", Value: int32(1)},
		{Key: "a.b", Value: "dotted"},
		{Key: `q"uote\back`, Value: "ctl\x00nul"},
		{Key: "", Value: "empty key"},
		{Key: "nested", Value: bson.D{{Key: "$dollar", Value: int32(3)}, {Key: "dot.ted", Value: int32(2)}, {Key: "", Value: int32(0)}}},
		{Key: "arr", Value: bson.A{int32(1), bson.A{}, bson.A{bson.A{"x"}}, bson.D{}, nil, 3.25, int64(1) << 60}},
		{Key: "big", Value: math.MaxFloat64},
	}
	if _, err := coll.InsertOne(ctx, doc); err != nil {
		t.Fatalf("insert: %v (is FerretDB patched? build and test through scripts/mongo-test-server.sh)", err)
	}
	check := func(what string, want bson.D) {
		t.Helper()
		var got bson.D
		if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "x"}}).Decode(&got); err != nil {
			t.Fatal(err)
		}
		wantRaw, _ := bson.Marshal(want)
		gotRaw, _ := bson.Marshal(got)
		if !reflect.DeepEqual(wantRaw, gotRaw) {
			t.Errorf("%s:\n got  %v\n want %v", what, got, want)
		}
	}
	check("after insert", doc)
	doc[1].Value = int32(2)
	r, err := coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: "x"}, {Key: "z", Value: int32(1)}}, doc)
	if err != nil || r.ModifiedCount != 1 {
		t.Fatalf("replace: %+v, %v", r, err)
	}
	check("after replace", doc)
}

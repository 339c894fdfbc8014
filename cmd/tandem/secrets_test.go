package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/tandemhq/tandem/server"
)

// buildTandem builds this command into a temporary directory, so that a
// test sees exactly what an operator runs.
func buildTandem(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tandem")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// closedPort is a local port nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// syncBuffer collects a process's output from its pipe goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSecretsNeverLogged runs `tandem serve` with an auth secret, a Redis
// and a MongoDB URL with passwords, debug logging, and clients that send
// valid, expired and forged tokens in every place a token can travel, and
// fails if any secret shows up in what the process prints, in the close
// frames or in the HTTP answers.
func TestSecretsNeverLogged(t *testing.T) {
	bin := buildTandem(t)
	const (
		authSecret = "AUTHSECRET-b7f3c1"
		redisPW    = "REDISPW-91ad0e"
		mongoPW    = "MONGOPW-4c22e8"
	)

	t.Run("unreachable redis and mongo", func(t *testing.T) {
		for _, args := range [][]string{
			{"serve", "--store", "memory", "--redis-url", "redis://:" + redisPW + "@127.0.0.1:" + closedPort(t) + "/0"},
			{"serve", "--store", "memory", "--redis-url", "redis://alice:" + redisPW + "@127.0.0.1:notaport/0"},
			{"serve", "--store", "mongo", "--mongo-url", "mongodb://alice:" + mongoPW + "@127.0.0.1:" + closedPort(t) + "/db"},
			{"serve", "--store", "mongo", "--mongo-url", "mongodb://alice:" + mongoPW + "@127.0.0.1:notaport/db"},
		} {
			args = append(args, "--addr", "127.0.0.1:0", "--log-level", "debug", "--auth-secret", authSecret)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
			cancel()
			if err == nil {
				t.Errorf("%v: started although its store or broker is unreachable", args)
			}
			for _, secret := range []string{authSecret, redisPW, mongoPW} {
				if strings.Contains(string(out), secret) {
					t.Errorf("%v printed a secret:\n%s", args[1:5], out)
				}
			}
			// The failure must be the one under test, named as such.
			if what := strings.TrimSuffix(strings.TrimPrefix(args[3], "--"), "-url"); !strings.Contains(string(out), what) {
				t.Errorf("%v: failed without naming the %s:\n%s", args[1:5], what, out)
			}
		}
	})

	t.Run("running with clients", func(t *testing.T) {
		var out syncBuffer
		cmd := exec.Command(bin, "serve", "--store", "memory", "--addr", "127.0.0.1:0", "--log-level", "debug")
		cmd.Env = append(os.Environ(), "TANDEM_AUTH_SECRET="+authSecret)
		pr, pw := io.Pipe()
		cmd.Stdout, cmd.Stderr = pw, pw
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		addrc := make(chan string, 1)
		scanned := make(chan struct{})
		go func() {
			defer close(scanned)
			re := regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`)
			sc := bufio.NewScanner(pr)
			for sc.Scan() {
				out.Write(append(sc.Bytes(), '\n'))
				if m := re.FindStringSubmatch(sc.Text()); m != nil && strings.Contains(sc.Text(), "tandem serving") {
					addrc <- m[1]
				}
			}
		}()
		var addr string
		select {
		case addr = <-addrc:
		case <-time.After(30 * time.Second):
			t.Fatalf("tandem serve did not start:\n%s", out.String())
		}

		sign := func(secret string, exp time.Duration) string {
			c := server.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "ed", ExpiresAt: jwt.NewNumericDate(time.Now().Add(exp))}, DefaultRole: "editor"}
			s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		valid := sign(authSecret, time.Hour)
		short := sign(authSecret, 1500*time.Millisecond) // expires while connected
		expired := sign(authSecret, -time.Hour)
		forged := sign("not-the-secret", time.Hour)
		tokens := []string{short, valid, expired, forged} // short first, so it expires while connected
		// The signature is the part that must not leak; the payload is
		// only base64.
		var sigs []string
		for _, tok := range tokens {
			sigs = append(sigs, tok[strings.LastIndexByte(tok, '.')+1:])
		}

		var answers syncBuffer
		for _, tok := range tokens {
			c, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws?token="+tok, nil)
			if err != nil {
				if resp != nil {
					b, _ := io.ReadAll(resp.Body)
					answers.Write(b)
				}
				continue
			}
			c.WriteJSON(map[string]any{"a": "hs", "id": nil})
			c.WriteJSON(map[string]any{"a": "op", "c": "notes", "d": "x", "v": nil, "seq": 1, "create": map[string]any{"type": "text-unicode", "data": "hi"}})
			c.WriteJSON(map[string]any{"a": "bogus"})
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			for {
				_, m, err := c.ReadMessage()
				if err != nil {
					answers.Write([]byte(err.Error()))
					break
				}
				answers.Write(m)
			}
			c.Close()
		}
		for _, path := range []string{"/api/v1/docs/notes/x", "/api/v1/docs/notes/x/ops", "/api/v1/docs/notes", "/readyz"} {
			for _, tok := range tokens {
				for _, how := range []string{"query", "header", "cookie"} {
					url := "http://" + addr + path
					req, _ := http.NewRequest("GET", url, nil)
					switch how {
					case "query":
						req.URL.RawQuery = "token=" + tok
					case "header":
						req.Header.Set("Authorization", "Bearer "+tok)
					case "cookie":
						req.AddCookie(&http.Cookie{Name: "tandem_token", Value: tok})
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					answers.Write(b)
				}
			}
		}
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("tandem serve did not stop on SIGTERM")
		}
		pw.Close()
		<-scanned

		logged := out.String()
		if !strings.Contains(logged, "level=DEBUG") {
			t.Fatalf("no debug output, so the test proves nothing:\n%s", logged)
		}
		// Likewise the answers: a served client, a token expiring on an
		// open connection, and refused tokens must all have been seen.
		for _, want := range []string{`"a":"hs"`, "4001: token expired", "ERR_UNAUTHORIZED"} {
			if !strings.Contains(answers.String(), want) {
				t.Fatalf("answers lack %q, so the test proves nothing:\n%s", want, answers.String())
			}
		}
		for what, text := range map[string]string{"the log": logged, "answers to clients": answers.String()} {
			if strings.Contains(text, authSecret) {
				t.Errorf("%s contain the auth secret", what)
			}
			for i, sig := range sigs {
				if strings.Contains(text, sig) {
					t.Errorf("%s contain token %d's signature", what, i)
				}
			}
		}
		if t.Failed() {
			t.Logf("log:\n%s", logged)
		}
	})
}

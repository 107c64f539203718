package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestConfigSettings(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(config) bool
	}{
		{"defaults", nil, func(c config) bool {
			return c.PGStatementTimeout == 5*time.Second && c.MaxConnsPerClient == 64 && c.MaxConns == 4096 &&
				c.MetricsAddr == "" && c.RateLimitRedisURL == "" && c.DatabaseReadURLs == nil && c.ReplicaMaxLag == 30*time.Second
		}},
		{"read replicas", map[string]string{"DATABASE_URL": "postgres://p/k", "DATABASE_READ_URL": "postgres://r1/k, postgres://r2/k"},
			func(c config) bool {
				return slices.Equal(c.DatabaseReadURLs, []string{"postgres://r1/k", "postgres://r2/k"}) && c.DatabaseURL == "postgres://p/k"
			}},
		{"replica lag", map[string]string{"KRIMSTAT_REPLICA_MAX_LAG": "5s"},
			func(c config) bool { return c.ReplicaMaxLag == 5*time.Second }},
		{"replica lag off", map[string]string{"KRIMSTAT_REPLICA_MAX_LAG": "0"},
			func(c config) bool { return c.ReplicaMaxLag == 0 }},
		{"limiter on REDIS_URL by default", map[string]string{"REDIS_URL": "redis://a:6379/0"}, func(c config) bool {
			return c.RateLimitRedisURL == "redis://a:6379/0"
		}},
		{"limiter on a Redis of its own", map[string]string{"REDIS_URL": "redis://a:6379/0", "KRIMSTAT_RATELIMIT_REDIS_URL": "redis://b:6379/0"},
			func(c config) bool {
				return c.RedisURL == "redis://a:6379/0" && c.RateLimitRedisURL == "redis://b:6379/0"
			}},
		{"caps off", map[string]string{"KRIMSTAT_MAX_CONNS_PER_CLIENT": "0", "KRIMSTAT_MAX_CONNS": "0"},
			func(c config) bool { return c.MaxConnsPerClient == 0 && c.MaxConns == 0 }},
		{"caps set", map[string]string{"KRIMSTAT_MAX_CONNS_PER_CLIENT": "8", "KRIMSTAT_MAX_CONNS": "100"},
			func(c config) bool { return c.MaxConnsPerClient == 8 && c.MaxConns == 100 }},
		{"statement timeout", map[string]string{"KRIMSTAT_PG_STATEMENT_TIMEOUT": "250ms"},
			func(c config) bool { return c.PGStatementTimeout == 250*time.Millisecond }},
		{"statement timeout off", map[string]string{"KRIMSTAT_PG_STATEMENT_TIMEOUT": "0"},
			func(c config) bool { return c.PGStatementTimeout == 0 }},
		{"metrics address", map[string]string{"KRIMSTAT_METRICS_ADDR": "127.0.0.1:9090"},
			func(c config) bool { return c.MetricsAddr == "127.0.0.1:9090" }},
	}
	for _, tt := range tests {
		c, err := loadConfig(env(tt.env))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !tt.check(c) {
			t.Errorf("%s: got %+v", tt.name, c)
		}
	}
}

func TestConfigRejectsBadSettings(t *testing.T) {
	for _, e := range []map[string]string{
		{"KRIMSTAT_MAX_CONNS_PER_CLIENT": "-1"},
		{"KRIMSTAT_MAX_CONNS": "many"},
		{"KRIMSTAT_PG_STATEMENT_TIMEOUT": "5"},
		{"KRIMSTAT_PG_STATEMENT_TIMEOUT": "-1s"},
		{"KRIMSTAT_ADDR": ":9090", "KRIMSTAT_METRICS_ADDR": ":9090"},
		{"DATABASE_READ_URL": "postgres://r/k"}, // replicas without the primary
		{"DATABASE_URL": "postgres://p/k", "DATABASE_READ_URL": "mysql://r/k"},
		{"KRIMSTAT_REPLICA_MAX_LAG": "soon"},
	} {
		if _, err := loadConfig(env(e)); err == nil {
			t.Errorf("%v: got nil error, want one", e)
		}
	}
}

// TestSplitDatabaseURLs: DATABASE_READ_URL is a list of URLs separated by
// commas or white space, where a multi-host URL keeps its commas, or one
// key=value string; an error never shows a password.
func TestSplitDatabaseURLs(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "  ", want: nil},
		{in: "postgres://a/k", want: []string{"postgres://a/k"}},
		{in: "postgres://a/k,postgresql://b/k", want: []string{"postgres://a/k", "postgresql://b/k"}},
		{in: " postgres://a/k , postgres://b/k ,", want: []string{"postgres://a/k", "postgres://b/k"}},
		{in: "postgres://a/k postgres://b/k\npostgres://c/k", want: []string{"postgres://a/k", "postgres://b/k", "postgres://c/k"}},
		{in: "postgres://a:5432,b:5433/k?target_session_attrs=any,postgres://c/k",
			want: []string{"postgres://a:5432,b:5433/k?target_session_attrs=any", "postgres://c/k"}},
		{in: "host=r1 port=5432 dbname=k password=secret", want: []string{"host=r1 port=5432 dbname=k password=secret"}},
		{in: "mysql://a/k", wantErr: true},
		{in: "r1, postgres://a/k", wantErr: true},
		{in: "postgres://u:secret@a:port/k", wantErr: true},
		{in: "postgres://a/k host=b password=secret", wantErr: true},
	}
	for _, tt := range tests {
		got, err := splitDatabaseURLs(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("splitDatabaseURLs(%q): got %q, want an error", tt.in, got)
			} else if strings.Contains(err.Error(), "secret") {
				t.Errorf("splitDatabaseURLs(%q): error %q shows the password", tt.in, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitDatabaseURLs(%q): got %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestMasked(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"postgres://u:secret@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"postgres://h/db?password=secret", "postgres://h/db?password=xxxxx"},
		{"postgres://h/db?sslmode=disable&password=secret&user=u", "postgres://h/db?sslmode=disable&password=xxxxx&user=u"},
		{"postgres://h/db?PassWord=secret", "postgres://h/db?PassWord=xxxxx"},
		{"postgres://h/db?sslpassword=secret", "postgres://h/db?sslpassword=xxxxx"},
		{"postgres://h/db?pass%77ord=secret", "postgres://h/db?pass%77ord=xxxxx"},
		{"postgres://u:s%40cret@h/db?password=other", "postgres://u:xxxxx@h/db?password=xxxxx"},
		{"redis://:secret@h:6379/0", "redis://:xxxxx@h:6379/0"},
		{"redis://h:6379/0?password=x", "redis://h:6379/0?password=xxxxx"},
		{"rediss://default:secret@h:6380/1?dial_timeout=1s", "rediss://default:xxxxx@h:6380/1?dial_timeout=1s"},
		// Unparsable: the password cannot be told from the rest.
		{"postgres://u:p/ss@h/db", "xxxxx"},
		// key=value strings.
		{"host=h password=secret dbname=db", "host=h password=xxxxx dbname=db"},
		{"host=h password = 'se cr\\'et' dbname=db", "host=h password = xxxxx dbname=db"},
		{"host=h password=se\\ cret dbname=db", "host=h password=xxxxx dbname=db"},
		{"password=secret", "password=xxxxx"},
	}
	for _, tt := range tests {
		got := masked(tt.in)
		if got != tt.want {
			t.Errorf("masked(%q): got %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(got, "secret") || strings.Contains(got, "se cr") {
			t.Errorf("masked(%q): %q shows the secret", tt.in, got)
		}
	}
}

// TestBuildRevision: a test binary has no VCS stamp, as a Docker build has
// none, so the revision comes from the Go build ID the linker wrote into
// the executable, as "go tool buildid" reads it: it follows the code rather
// than being a constant that a new image would share with an old one.
func TestBuildRevision(t *testing.T) {
	start := time.Now()
	rev, source := buildRevision()
	took := time.Since(start)
	if source == "vcs" {
		t.Skipf("the test binary has a VCS stamp: %s", rev)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "tool", "buildid", exe).Output()
	if err != nil {
		t.Fatalf("go tool buildid: %v", err)
	}
	id := strings.TrimSpace(string(out))
	sum := sha256.Sum256([]byte(id[strings.LastIndex(id, "/")+1:]))
	if want := representationVersion + "-build-" + hex.EncodeToString(sum[:16]); rev != want || source != "build id" {
		t.Errorf("buildRevision: got %s from %s, want %s from the build id %s", rev, source, want, id)
	}
	if again, _ := buildRevision(); again != rev {
		t.Errorf("buildRevision again: got %s, want %s", again, rev)
	}
	// The fallback, where an executable has no build ID: its SHA-256.
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	whole := sha256.Sum256(b)
	if got, err := executableHash(); err != nil || got != hex.EncodeToString(whole[:16]) {
		t.Errorf("executableHash: got %s, %v; want the executable's SHA-256", got, err)
	}
	t.Logf("read the build id in %s", took)
}

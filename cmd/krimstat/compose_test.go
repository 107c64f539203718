package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// compose is the part of docker-compose.yml the test checks.
type compose struct {
	Services map[string]struct {
		Build       any               `json:"build"`
		Image       string            `json:"image"`
		Command     []string          `json:"command"`
		Environment map[string]string `json:"environment"`
		Healthcheck *struct {
			Test []string `json:"test"`
		} `json:"healthcheck"`
		DependsOn map[string]struct {
			Condition string `json:"condition"`
		} `json:"depends_on"`
	} `json:"services"`
}

// TestComposeFile validates docker-compose.yml's structure: Docker cannot
// run on the CI machines, so the file is checked here instead.
func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("parse: %v", err)
	}
	for _, name := range []string{"api", "postgres", "redis", "redis-ratelimit", "migrate", "load"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("service %s is missing", name)
		}
	}
	for _, name := range []string{"api", "postgres", "redis", "redis-ratelimit"} {
		if hc := c.Services[name].Healthcheck; hc == nil || len(hc.Test) == 0 {
			t.Errorf("service %s: no healthcheck", name)
		}
	}
	api := c.Services["api"]
	for dep, want := range map[string]string{"postgres": "service_healthy", "redis": "service_healthy",
		"redis-ratelimit": "service_healthy", "load": "service_completed_successfully"} {
		if got := api.DependsOn[dep].Condition; got != want {
			t.Errorf("api depends_on %s: got %q, want %q", dep, got, want)
		}
	}
	// The sync service runs the binary's own sync command with flags it
	// accepts, in a loop, against the sources file the image carries.
	sync, ok := c.Services["sync"]
	if !ok || len(sync.Command) == 0 || sync.Command[0] != "sync" {
		t.Fatalf("service sync: want the sync command, got %+v", sync)
	}
	f, err := parseSyncFlags(sync.Command[1:], io.Discard)
	if err != nil {
		t.Errorf("service sync: %v", err)
	}
	if f.interval <= 0 || f.sources != "/etc/krimstat/sources.json" || f.metricsFile == "" {
		t.Errorf("service sync: got interval %s, sources %q, metrics file %q; want a loop over /etc/krimstat/sources.json with metrics", f.interval, f.sources, f.metricsFile)
	}
	if got := sync.DependsOn["load"].Condition; got != "service_completed_successfully" || !strings.HasPrefix(sync.Environment["DATABASE_URL"], "postgres://") {
		t.Errorf("service sync: want DATABASE_URL and to start after load")
	}
	dockerfile, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dockerfile), " /etc/krimstat/sources.json\n") || !strings.Contains(string(dockerfile), " /etc/krimstat/mappings\n") {
		t.Error("Dockerfile: the image must carry /etc/krimstat/sources.json and its mappings")
	}
	if got := c.Services["load"].DependsOn["migrate"].Condition; got != "service_completed_successfully" {
		t.Errorf("load depends_on migrate: got %q", got)
	}
	if got := c.Services["migrate"].DependsOn["postgres"].Condition; got != "service_healthy" {
		t.Errorf("migrate depends_on postgres: got %q", got)
	}
	// The one-shot commands must be ones the binary knows.
	for _, name := range []string{"migrate", "load", "api"} {
		s := c.Services[name]
		if s.Build == nil || len(s.Command) == 0 {
			t.Errorf("service %s: want build and command", name)
			continue
		}
		switch s.Command[0] {
		case "serve", "migrate", "ingest":
		default:
			t.Errorf("service %s: unknown command %q", name, s.Command[0])
		}
		if !strings.HasPrefix(s.Environment["DATABASE_URL"], "postgres://") {
			t.Errorf("service %s: DATABASE_URL %q", name, s.Environment["DATABASE_URL"])
		}
	}
	for _, v := range []string{"REDIS_URL", "KRIMSTAT_RATELIMIT_REDIS_URL"} {
		if !strings.HasPrefix(api.Environment[v], "redis://") {
			t.Errorf("api: %s %q", v, api.Environment[v])
		}
	}
	// A Redis without maxmemory grows without bound, and one that does not
	// evict refuses writes when full (see README, Redis memory).
	for _, name := range []string{"redis", "redis-ratelimit"} {
		cmd := strings.Join(c.Services[name].Command, " ")
		if !strings.Contains(cmd, "--maxmemory ") || !strings.Contains(cmd, "--maxmemory-policy allkeys-lru") {
			t.Errorf("service %s: command %q, want --maxmemory and --maxmemory-policy allkeys-lru", name, cmd)
		}
	}
}

// TestDockerfile checks the image is multi-stage and runs as non-root.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var from, user int
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			from++
		case "USER":
			user++
			if f[1] == "root" || strings.HasPrefix(f[1], "0") {
				t.Errorf("USER %s: want non-root", f[1])
			}
		}
	}
	if from < 2 || user == 0 {
		t.Errorf("Dockerfile: %d FROM and %d USER lines, want a multi-stage build with a USER", from, user)
	}
}

// TestSyncCronJob checks the Kubernetes CronJob of the sync: its arguments
// are flags the binary accepts, it runs once per schedule (no -interval),
// never twice at once, as a non-root user on a read-only root filesystem.
func TestSyncCronJob(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "kubernetes", "sync-cronjob.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cj struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Schedule          string `yaml:"schedule"`
			ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
			JobTemplate       struct {
				Spec struct {
					Template struct {
						Spec struct {
							Containers []struct {
								Args            []string `yaml:"args"`
								SecurityContext struct {
									ReadOnlyRootFilesystem bool `yaml:"readOnlyRootFilesystem"`
								} `yaml:"securityContext"`
								Env []struct {
									Name string `yaml:"name"`
								} `yaml:"env"`
							} `yaml:"containers"`
							SecurityContext struct {
								RunAsNonRoot bool `yaml:"runAsNonRoot"`
							} `yaml:"securityContext"`
						} `yaml:"spec"`
					} `yaml:"template"`
				} `yaml:"spec"`
			} `yaml:"jobTemplate"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(b, &cj); err != nil {
		t.Fatal(err)
	}
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	if cj.Kind != "CronJob" || cj.Spec.Schedule == "" || cj.Spec.ConcurrencyPolicy != "Forbid" || len(pod.Containers) != 1 || !pod.SecurityContext.RunAsNonRoot {
		t.Fatalf("got %+v, want one non-root container on a schedule, concurrencyPolicy Forbid", cj)
	}
	c := pod.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "sync" {
		t.Fatalf("args %q: want the sync command", c.Args)
	}
	f, err := parseSyncFlags(c.Args[1:], io.Discard)
	if err != nil || f.interval != 0 || f.sources != "/etc/krimstat/sources.json" {
		t.Errorf("args %q: got %+v, %v; want one run over /etc/krimstat/sources.json", c.Args, f, err)
	}
	if !c.SecurityContext.ReadOnlyRootFilesystem || len(c.Env) == 0 || c.Env[0].Name != "DATABASE_URL" {
		t.Errorf("container: want a read-only root filesystem and DATABASE_URL")
	}
}

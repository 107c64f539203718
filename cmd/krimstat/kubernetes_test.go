package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// kubeDir is where the Kubernetes manifests are.
var kubeDir = filepath.Join("..", "..", "deploy", "kubernetes")

// decodeStrict decodes one YAML manifest into v as the API server would
// and more strictly: an unknown or misspelt field anywhere is an error (a
// field the API server would silently drop), and so is a second document.
func decodeStrict(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(kubeDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("\n---")) {
		t.Fatalf("%s: one manifest per file, please", name)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// kustomization is the part of kustomization.yaml the test reads.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Labels     []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels"`
	Images []struct {
		Name   string `json:"name"`
		NewTag string `json:"newTag"`
	} `json:"images"`
}

// manifests are the resources kustomization.yaml lists, decoded into the
// Kubernetes API types by their kind.
type manifests struct {
	configMap  corev1.ConfigMap
	deployment appsv1.Deployment
	service    corev1.Service
	pdb        policyv1.PodDisruptionBudget
	hpa        autoscalingv2.HorizontalPodAutoscaler
	ingress    networkingv1.Ingress
	migrate    batchv1.Job
	sync       batchv1.CronJob
	// secret is the example Secret, not applied but decoded too.
	secret corev1.Secret
}

func readManifests(t *testing.T) manifests {
	t.Helper()
	var k kustomization
	decodeStrict(t, "kustomization.yaml", &k)
	if k.Kind != "Kustomization" || len(k.Images) != 1 || k.Images[0].Name != "krimstat" {
		t.Fatalf("kustomization.yaml: got %+v", k)
	}
	var m manifests
	seen := map[string]bool{}
	for _, name := range k.Resources {
		var head struct {
			Kind string `json:"kind"`
		}
		b, err := os.ReadFile(filepath.Join(kubeDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &head); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var v any
		switch head.Kind {
		case "ConfigMap":
			v = &m.configMap
		case "Deployment":
			v = &m.deployment
		case "Service":
			v = &m.service
		case "PodDisruptionBudget":
			v = &m.pdb
		case "HorizontalPodAutoscaler":
			v = &m.hpa
		case "Ingress":
			v = &m.ingress
		case "Job":
			v = &m.migrate
		case "CronJob":
			v = &m.sync
		default:
			t.Fatalf("%s: kind %q is not checked by this test", name, head.Kind)
		}
		if seen[head.Kind] {
			t.Fatalf("%s: a second %s", name, head.Kind)
		}
		seen[head.Kind] = true
		decodeStrict(t, name, v)
	}
	if len(seen) != 8 {
		t.Fatalf("kustomization.yaml lists %d kinds, want the 8 this test checks", len(seen))
	}
	// The example Secret is decoded too, though not applied.
	decodeStrict(t, "secret.example.yaml", &m.secret)
	return m
}

// settingsRead are the environment variables the binary's configuration
// reads: every name loadConfig asks getenv for.
func settingsRead(t *testing.T) map[string]bool {
	t.Helper()
	read := map[string]bool{}
	if _, err := loadConfig(func(k string) string { read[k] = true; return "" }); err != nil {
		t.Fatal(err)
	}
	return read
}

// port is the port of a listen address such as ":8080".
func port(t *testing.T, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	var n int32
	fmt.Sscan(p, &n)
	return n
}

// checkPod checks what every pod of Krimstat must be: non-root, no
// privilege escalation, a read-only root filesystem, resources set, and
// only settings the binary reads.
func checkPod(t *testing.T, what string, spec corev1.PodSpec, settings map[string]bool) {
	t.Helper()
	if sc := spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("%s: want runAsNonRoot and a non-zero runAsUser", what)
	}
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s/%s: want a read-only root filesystem, no privilege escalation, all capabilities dropped", what, c.Name)
		}
		if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
			t.Errorf("%s/%s: want cpu and memory requests and a memory limit", what, c.Name)
		}
		if c.Image != "krimstat" {
			t.Errorf("%s/%s: image %q, want krimstat (set by kustomization.yaml's images)", what, c.Name, c.Image)
		}
		for _, e := range c.Env {
			if !settings[e.Name] {
				t.Errorf("%s/%s: env %s is no setting of the binary", what, c.Name, e.Name)
			}
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name != "krimstat" {
				t.Errorf("%s/%s: env %s from Secret %q, want krimstat", what, c.Name, e.Name, e.ValueFrom.SecretKeyRef.Name)
			}
		}
	}
}

// TestKubernetesManifests decodes every manifest strictly into the
// Kubernetes API types and checks it against the binary: the settings it
// passes are ones the binary reads and accepts, the ports are the ones it
// listens on, the probes are its health routes, the commands and flags are
// ones it knows, and the objects refer to each other by the right names.
func TestKubernetesManifests(t *testing.T) {
	m := readManifests(t)
	settings := settingsRead(t)

	// The ConfigMap's settings are the binary's, and it accepts them.
	cm := m.configMap.Data
	for k := range cm {
		if !settings[k] {
			t.Errorf("configmap: %s is no setting of the binary", k)
		}
	}
	env := func(k string) string {
		if v, ok := cm[k]; ok {
			return v
		}
		return map[string]string{"DATABASE_URL": "postgres://krimstat@postgres/krimstat", "REDIS_URL": "redis://redis:6379/0"}[k]
	}
	cfg, err := loadConfig(env)
	if err != nil {
		t.Fatalf("configmap: the binary refuses it: %v", err)
	}

	// The API's Deployment.
	d := m.deployment
	pod := d.Spec.Template.Spec
	checkPod(t, "deployment", pod, settings)
	if len(pod.Containers) != 1 {
		t.Fatalf("deployment: %d containers, want 1", len(pod.Containers))
	}
	api := pod.Containers[0]
	if !slices.Equal(api.Args, []string{"serve"}) {
		t.Errorf("deployment: args %q, want serve", api.Args)
	}
	if len(api.EnvFrom) != 1 || api.EnvFrom[0].ConfigMapRef == nil || api.EnvFrom[0].ConfigMapRef.Name != m.configMap.Name {
		t.Errorf("deployment: want the environment from ConfigMap %s", m.configMap.Name)
	}
	for _, want := range []string{"DATABASE_URL", "REDIS_URL"} {
		if !slices.ContainsFunc(api.Env, func(e corev1.EnvVar) bool { return e.Name == want }) {
			t.Errorf("deployment: no %s", want)
		}
	}
	// The read replicas are optional: a Secret without them still starts
	// the pods, which then read from the primary.
	i := slices.IndexFunc(api.Env, func(e corev1.EnvVar) bool { return e.Name == "DATABASE_READ_URL" })
	if i < 0 {
		t.Error("deployment: no DATABASE_READ_URL")
	} else if ref := api.Env[i].ValueFrom; ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Optional == nil || !*ref.SecretKeyRef.Optional {
		t.Error("deployment: DATABASE_READ_URL: want it from the Secret, optional")
	}
	// The example Secret's URLs are ones the binary accepts, and it has
	// every key a pod takes from it.
	secretEnv := map[string]string{}
	for _, c := range slices.Concat(pod.Containers, m.migrate.Spec.Template.Spec.InitContainers, m.migrate.Spec.Template.Spec.Containers,
		m.sync.Spec.JobTemplate.Spec.Template.Spec.Containers) {
		for _, e := range c.Env {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				continue
			}
			v, ok := m.secret.StringData[e.ValueFrom.SecretKeyRef.Key]
			if !ok {
				t.Errorf("secret.example.yaml: no key %s, which %s takes", e.ValueFrom.SecretKeyRef.Key, c.Name)
			}
			secretEnv[e.Name] = v
		}
	}
	if c, err := loadConfig(func(k string) string { return secretEnv[k] }); err != nil {
		t.Errorf("secret.example.yaml: the binary refuses it: %v", err)
	} else if len(c.DatabaseReadURLs) == 0 {
		t.Error("secret.example.yaml: want an example of database-read-url")
	}
	// Loads, migrations and NOTIFY are the primary's: only the API reads
	// from replicas.
	for what, spec := range map[string]corev1.PodSpec{"migrate job": m.migrate.Spec.Template.Spec, "sync cronjob": m.sync.Spec.JobTemplate.Spec.Template.Spec} {
		for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
			if slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "DATABASE_READ_URL" }) {
				t.Errorf("%s/%s: DATABASE_READ_URL, but it works on the primary only", what, c.Name)
			}
		}
	}
	ports := map[string]int32{}
	for _, p := range api.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["http"] != port(t, cfg.Addr) || ports["metrics"] != port(t, cfg.MetricsAddr) {
		t.Errorf("deployment: ports %v, want http %d and metrics %d as the ConfigMap configures", ports, port(t, cfg.Addr), port(t, cfg.MetricsAddr))
	}
	for name, p := range map[string]*corev1.Probe{"startup": api.StartupProbe, "readiness": api.ReadinessProbe, "liveness": api.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Port.String() != "http" {
			t.Fatalf("deployment: %s probe: want an HTTP GET on port http", name)
		}
		want := "/readyz"
		if name == "liveness" {
			// Liveness must not depend on PostgreSQL or Redis: an outage
			// of either would restart every replica at once.
			want = "/healthz"
		}
		if p.HTTPGet.Path != want {
			t.Errorf("deployment: %s probe on %s, want %s", name, p.HTTPGet.Path, want)
		}
	}
	// The probes' paths answer 200 on the binary's router.
	base, _, _ := startServe(t, nil)
	for _, path := range []string{"/readyz", "/healthz"} {
		if _, status := fetch(t, base+path); status != 200 {
			t.Errorf("%s: got %d, want 200", path, status)
		}
	}
	if grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds; grace == nil || float64(*grace) <= cfg.ShutdownTimeout.Seconds() {
		t.Errorf("deployment: terminationGracePeriodSeconds must exceed KRIMSTAT_SHUTDOWN_TIMEOUT (%s)", cfg.ShutdownTimeout)
	}
	podLabels := d.Spec.Template.Labels
	for k, v := range d.Spec.Selector.MatchLabels {
		if podLabels[k] != v {
			t.Errorf("deployment: selector %s=%s does not select its pods", k, v)
		}
	}

	// Service, PodDisruptionBudget, HorizontalPodAutoscaler and Ingress
	// point at the Deployment's pods and ports.
	for k, v := range m.service.Spec.Selector {
		if podLabels[k] != v {
			t.Errorf("service: selector %s=%s selects no API pod", k, v)
		}
	}
	for _, p := range m.service.Spec.Ports {
		if _, ok := ports[p.TargetPort.String()]; !ok {
			t.Errorf("service: target port %s is no port of the API container", p.TargetPort.String())
		}
	}
	for k, v := range m.pdb.Spec.Selector.MatchLabels {
		if podLabels[k] != v {
			t.Errorf("pdb: selector %s=%s selects no API pod", k, v)
		}
	}
	h := m.hpa.Spec
	if h.ScaleTargetRef.Kind != "Deployment" || h.ScaleTargetRef.Name != d.Name || h.MinReplicas == nil {
		t.Fatalf("hpa: scales %+v, want Deployment %s", h.ScaleTargetRef, d.Name)
	}
	if m.pdb.Spec.MinAvailable == nil || int32(m.pdb.Spec.MinAvailable.IntValue()) >= *h.MinReplicas {
		t.Errorf("pdb: minAvailable must be below the autoscaler's minReplicas (%d), or no node could ever be drained", *h.MinReplicas)
	}
	svcPorts := map[string]bool{}
	for _, p := range m.service.Spec.Ports {
		svcPorts[p.Name] = true
	}
	for _, r := range m.ingress.Spec.Rules {
		for _, p := range r.HTTP.Paths {
			if b := p.Backend.Service; b == nil || b.Name != m.service.Name || !svcPorts[b.Port.Name] {
				t.Errorf("ingress: backend %+v, want Service %s and one of its ports", p.Backend.Service, m.service.Name)
			}
		}
	}

	// The migrate Job and the sync CronJob run commands the binary knows.
	job := m.migrate.Spec.Template.Spec
	checkPod(t, "migrate job", job, settings)
	var steps [][]string
	for _, c := range slices.Concat(job.InitContainers, job.Containers) {
		steps = append(steps, c.Args)
	}
	if !slices.EqualFunc(steps, [][]string{{"migrate"}, {"ingest", "-bundled"}}, slices.Equal) {
		t.Errorf("migrate job: steps %q, want migrate, then ingest -bundled", steps)
	}
	if _, err := parseIngestFlags([]string{"-bundled"}, io.Discard); err != nil {
		t.Errorf("migrate job: %v", err)
	}
	cron := m.sync.Spec.JobTemplate.Spec.Template.Spec
	checkPod(t, "sync cronjob", cron, settings)
	args := cron.Containers[0].Args
	if len(args) == 0 || args[0] != "sync" {
		t.Fatalf("sync cronjob: args %q, want the sync command", args)
	}
	if f, err := parseSyncFlags(args[1:], io.Discard); err != nil || f.interval != 0 {
		t.Errorf("sync cronjob: args %q: %v (want one run per schedule, no -interval)", args, err)
	}
	if m.sync.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("sync cronjob: concurrencyPolicy %q, want Forbid", m.sync.Spec.ConcurrencyPolicy)
	}
	if !strings.HasPrefix(args[2], "/etc/krimstat/") {
		t.Errorf("sync cronjob: sources %q, want the file the image carries", args[2])
	}
}

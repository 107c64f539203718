package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresReplica is a PostgreSQL cluster of a test's own: a primary and a
// hot standby streaming from it, each a postgres process on a free loopback
// port with its data in the test's temporary directory. It never touches
// the machine's own server on 5432, whose pg_hba need not allow
// replication. Both processes are stopped when the test ends.
type PostgresReplica struct {
	// PrimaryURL and ReplicaURL name database postgres on each server, as
	// the bootstrap superuser postgres, which every address of the
	// loopback may use without a password.
	PrimaryURL, ReplicaURL string

	primary, replica *pgProcess
}

// pgProcess is one postmaster started by the test.
type pgProcess struct {
	cmd  *exec.Cmd
	log  string        // its stderr and stdout
	done chan struct{} // closed once it has exited
}

// StartPostgresReplica initdbs a primary, copies it with pg_basebackup -R
// into a standby and starts both, returning once the standby streams. The
// binaries are those of the newest PostgreSQL under /usr/lib/postgresql (as
// .ci/run finds them), or else initdb's directory on PATH; without them the
// test is skipped, except under CI=true, where it fails. PostgreSQL refuses
// to run as root, so a test running as root runs every PostgreSQL binary as
// the OS user postgres.
//
// Durability is off (fsync, full_page_writes): the data lives only as long
// as the test.
func StartPostgresReplica(t testing.TB) *PostgresReplica {
	t.Helper()
	start := time.Now()
	bin := postgresBinaries(t)
	cred := postgresCredential(t)
	base := t.TempDir()
	if cred != nil {
		// The postgres user must reach base through directories that the
		// testing package made private to root.
		for dir := filepath.Dir(base); strings.HasPrefix(dir, os.TempDir()+string(filepath.Separator)); dir = filepath.Dir(dir) {
			if fi, err := os.Stat(dir); err == nil {
				if err := os.Chmod(dir, fi.Mode().Perm()|0o001); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := os.Chown(base, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	primaryDir, replicaDir := filepath.Join(base, "primary"), filepath.Join(base, "replica")

	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	run("initdb", "-D", primaryDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	// Written over initdb's: the same rules, said here rather than assumed.
	hba := "local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n"
	if err := os.WriteFile(filepath.Join(primaryDir, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		if err := os.Chown(filepath.Join(primaryDir, "pg_hba.conf"), int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}

	r := &PostgresReplica{}
	primaryPort := FreePort(t)
	r.primary = startPostgres(t, bin, cred, primaryDir, primaryPort, filepath.Join(base, "primary.log"))
	r.PrimaryURL = postgresLocalURL(primaryPort)
	waitPostgres(t, r.primary, r.PrimaryURL, "SELECT true")

	// A fast checkpoint starts the copy at once rather than after a
	// spread one; -R writes standby.signal and primary_conninfo.
	run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(primaryPort), "-U", "postgres",
		"-D", replicaDir, "-R", "-X", "stream", "-c", "fast", "--no-sync")
	replicaPort := FreePort(t)
	r.replica = startPostgres(t, bin, cred, replicaDir, replicaPort, filepath.Join(base, "replica.log"))
	r.ReplicaURL = postgresLocalURL(replicaPort)
	waitPostgres(t, r.replica, r.ReplicaURL, "SELECT pg_is_in_recovery() AND EXISTS (SELECT FROM pg_stat_wal_receiver WHERE status = 'streaming')")
	t.Logf("PostgreSQL primary on %d, streaming replica on %d, started in %v", primaryPort, replicaPort, time.Since(start).Round(time.Millisecond))
	return r
}

// postgresBinaries returns the directory of initdb, postgres and
// pg_basebackup.
func postgresBinaries(t testing.TB) string {
	t.Helper()
	has := func(dir string) bool {
		for _, name := range []string{"initdb", "postgres", "pg_basebackup"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				return false
			}
		}
		return true
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest major version first: 16 before 9.6.
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	slices.SortFunc(dirs, func(a, b string) int {
		switch va, vb := version(a), version(b); {
		case va > vb:
			return -1
		case va < vb:
			return 1
		}
		return 0
	})
	for _, dir := range dirs {
		if has(dir) {
			return dir
		}
	}
	if path, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(path)) {
		return filepath.Dir(path)
	}
	Missing(t, "PostgreSQL server binaries (initdb, postgres, pg_basebackup under /usr/lib/postgresql/*/bin or on PATH)")
	return ""
}

// postgresCredential returns the OS user postgres to run PostgreSQL as
// when the test runs as root, and nil otherwise.
func postgresCredential(t testing.TB) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		Missing(t, "an OS user postgres to run PostgreSQL as (it refuses to run as root)")
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		t.Fatalf("OS user postgres: uid %q, gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

func postgresLocalURL(port int) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
}

// startPostgres runs a postmaster on dir, stopped when the test ends. It
// listens on the loopback only and on no Unix socket: a socket's path
// would sit in the test's temporary directory, which can be longer than a
// socket path may be.
func startPostgres(t testing.TB, bin string, cred *syscall.Credential, dir string, port int, logPath string) *pgProcess {
	t.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", dir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "wal_level=replica", "-c", "max_wal_senders=4", "-c", "hot_standby=on",
		"-c", "max_connections=60", "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting postgres: %v", err)
	}
	p := &pgProcess{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		// Immediate shutdown: the postmaster ends its children and exits;
		// nothing of the data needs to survive.
		p.stop(syscall.SIGQUIT)
	})
	return p
}

// stop sends sig to the postmaster and waits for it to exit, killing it
// after ten seconds.
func (p *pgProcess) stop(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// logTail returns the end of the process's log, for a failure message.
func (p *pgProcess) logTail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// waitPostgres waits until the server at url answers true to ready.
func waitPostgres(t testing.TB, p *pgProcess, url, ready string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for {
		select {
		case <-p.done:
			t.Fatalf("postgres exited at start:\n%s", p.logTail())
		default:
		}
		ok := false
		err = func() error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			return conn.QueryRow(ctx, ready).Scan(&ok)
		}()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("postgres at %s not ready: %v\n%s", url, err, p.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// execOn runs sql on the server at url.
func execOn(t testing.TB, url, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// PauseReplay stops the replica applying the WAL it receives, and returns
// once it has stopped: until ResumeReplay, it answers as of the moment of
// the pause, whatever the primary commits.
func (r *PostgresReplica) PauseReplay(t testing.TB) {
	t.Helper()
	execOn(t, r.ReplicaURL, "SELECT pg_wal_replay_pause()")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, r.ReplicaURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for {
		// "pause requested" may still apply the record at hand.
		var state string
		if err := conn.QueryRow(ctx, "SELECT pg_get_wal_replay_pause_state()").Scan(&state); err != nil {
			t.Fatalf("replay pause state: %v", err)
		}
		if state == "paused" {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ResumeReplay lets the replica apply the WAL again.
func (r *PostgresReplica) ResumeReplay(t testing.TB) {
	t.Helper()
	execOn(t, r.ReplicaURL, "SELECT pg_wal_replay_resume()")
}

// WaitReplayed returns once the replica has applied everything the primary
// had written when it was called.
func (r *PostgresReplica) WaitReplayed(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	primary, err := pgx.Connect(ctx, r.PrimaryURL)
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close(ctx)
	var lsn string
	// The insert position, not the write position (pg_current_wal_lsn):
	// with synchronous_commit off, a commit may still be in the WAL
	// buffers, before the write position.
	if err := primary.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn); err != nil {
		t.Fatal(err)
	}
	replica, err := pgx.Connect(ctx, r.ReplicaURL)
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close(ctx)
	for {
		var done bool
		err := replica.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", lsn).Scan(&done)
		if err != nil {
			t.Fatalf("replica replaying up to %s: %v", lsn, err)
		}
		if done {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// KillReplica ends the replica's postmaster with SIGKILL, as a crash would;
// its backends exit as they notice. Killing it again does nothing.
func (r *PostgresReplica) KillReplica() { r.replica.stop(syscall.SIGKILL) }

// KillPrimary ends the primary's postmaster with SIGKILL; the replica keeps
// answering reads with what it has replayed.
func (r *PostgresReplica) KillPrimary() { r.primary.stop(syscall.SIGKILL) }

package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// StartRedisCluster runs a Redis Cluster of the test's own: masters
// redis-server processes in cluster mode on free loopback ports, each
// holding an equal share of the slots and no replica, and returns the URL
// that names it (redis://node1?addr=node2&addr=...). The servers are killed
// when the test ends. Without a redis-server binary the test is skipped,
// except under CI=true, where it fails.
func StartRedisCluster(t testing.TB, masters int) string {
	t.Helper()
	if masters < 1 {
		t.Fatalf("StartRedisCluster: %d masters", masters)
	}
	type node struct {
		srv     *RedisServer
		busPort int
		client  *redis.Client
	}
	nodes := make([]node, masters)
	for i := range nodes {
		// The bus port is given apart: the default, port+10000, is out of
		// range for the high ports the kernel hands out.
		bus := FreePort(t)
		nodes[i].busPort = bus
		nodes[i].srv = startRedis(t, "redis-server", FreePort(t), "--cluster-enabled", "yes",
			"--cluster-port", strconv.Itoa(bus), "--cluster-node-timeout", "2000")
		nodes[i].client = redis.NewClient(&redis.Options{Addr: nodes[i].srv.Addr, MaxRetries: -1})
		t.Cleanup(func() { _ = nodes[i].client.Close() })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i, n := range nodes {
		first, last := i*clusterSlots/masters, (i+1)*clusterSlots/masters-1
		if err := n.client.ClusterAddSlotsRange(ctx, first, last).Err(); err != nil {
			t.Fatalf("CLUSTER ADDSLOTSRANGE %d %d on %s: %v", first, last, n.srv.Addr, err)
		}
		if i > 0 {
			host, port, _ := net.SplitHostPort(n.srv.Addr)
			err := nodes[0].client.Do(ctx, "CLUSTER", "MEET", host, port, strconv.Itoa(n.busPort)).Err()
			if err != nil {
				t.Fatalf("CLUSTER MEET %s: %v", n.srv.Addr, err)
			}
		}
	}
	// Every node must know every other and see every slot served before a
	// client is sure of its map of the slots.
	want := fmt.Sprintf("cluster_known_nodes:%d", masters)
	for _, n := range nodes {
		for {
			info, err := n.client.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, want) {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("cluster node %s not ready: %v\n%s", n.srv.Addr, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	url := "redis://" + nodes[0].srv.Addr
	for i, n := range nodes[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		url += sep + "addr=" + n.srv.Addr
	}
	return url
}

// Sentinel is a primary with one replica, watched by three Sentinels that
// replace the primary by the replica half a second after it stops
// answering.
type Sentinel struct {
	// URL names the primary through the Sentinels:
	// redis://sentinel1?master_name=...&addr=sentinel2&addr=sentinel3.
	URL string
	// Master is the name the Sentinels know the primary by.
	Master string
	// Primary and Replica are the servers as they start; after a
	// failover, Replica is the primary.
	Primary, Replica *RedisServer
	Sentinels        []*RedisServer
}

// StartSentinel starts a Sentinel setup of the test's own on free loopback
// ports and waits until the Sentinels know the replica and each other, so
// that they can fail over. Everything is killed when the test ends. Without
// the redis-server or redis-sentinel binary the test is skipped, except
// under CI=true, where it fails.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	const master = "krimstat"
	s := &Sentinel{Master: master}
	// No delay before a full sync: the replica is in step at once.
	s.Primary = startRedis(t, "redis-server", FreePort(t), "--repl-diskless-sync-delay", "0")
	host, port, _ := net.SplitHostPort(s.Primary.Addr)
	s.Replica = startRedis(t, "redis-server", FreePort(t), "--replicaof", host, port)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	replica := redis.NewClient(&redis.Options{Addr: s.Replica.Addr, MaxRetries: -1})
	defer replica.Close()
	for {
		info, err := replica.Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("replica %s never in step with %s: %v\n%s", s.Replica.Addr, s.Primary.Addr, err, info)
		}
		time.Sleep(50 * time.Millisecond)
	}

	for range 3 {
		// Sentinel rewrites its configuration file, so each has its own.
		conf := filepath.Join(t.TempDir(), "sentinel.conf")
		text := fmt.Sprintf("sentinel monitor %s %s %s 2\n"+
			"sentinel down-after-milliseconds %[1]s 500\nsentinel failover-timeout %[1]s 5000\n", master, host, port)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		s.Sentinels = append(s.Sentinels, startRedis(t, "redis-sentinel", FreePort(t), conf))
	}
	s.URL = "redis://" + s.Sentinels[0].Addr + "?master_name=" + master
	for _, sn := range s.Sentinels[1:] {
		s.URL += "&addr=" + sn.Addr
	}

	// CKQUORUM answers OK once a Sentinel sees enough of the others to
	// agree on a failover; each must also know the replica to promote.
	for _, sn := range s.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr, MaxRetries: -1})
		for {
			q, err := c.CkQuorum(ctx, master).Result()
			replicas, rerr := c.Replicas(ctx, master).Result()
			if err == nil && strings.HasPrefix(q, "OK 3 ") && rerr == nil && len(replicas) == 1 && replicas[0]["flags"] == "slave" {
				break
			}
			if ctx.Err() != nil {
				c.Close()
				t.Fatalf("sentinel %s not ready: %q %v, replicas %v %v", sn.Addr, q, err, replicas, rerr)
			}
			time.Sleep(100 * time.Millisecond)
		}
		c.Close()
	}
	return s
}

// MasterAddr asks the Sentinels, in turn, for the primary's address.
func (s *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	var errs []error
	for _, sn := range s.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr, MaxRetries: -1})
		addr, err := c.GetMasterAddrByName(ctx, s.Master).Result()
		c.Close()
		if err == nil && len(addr) == 2 {
			return net.JoinHostPort(addr[0], addr[1]), nil
		}
		errs = append(errs, fmt.Errorf("%s: %v %w", sn.Addr, addr, err))
	}
	return "", fmt.Errorf("no sentinel names the primary: %v", errs)
}

// StartRedisURL starts a Redis of the test's own of the kind named
// ("single", "sentinel" or "cluster", a cluster of three masters) and returns
// the URL that names it, as REDIS_URL would.
func StartRedisURL(t testing.TB, kind string) string {
	t.Helper()
	switch kind {
	case "single":
		return "redis://" + StartRedis(t) + "/0"
	case "sentinel":
		return StartSentinel(t).URL
	case "cluster":
		return StartRedisCluster(t, 3)
	}
	t.Fatalf("StartRedisURL: unknown kind %q", kind)
	return ""
}

# Shell functions the load benchmarks share (bench/load.sh, edge.sh,
# switch.sh, startup.sh), sourced after each defines its own log().

# free_port prints a port nothing on 127.0.0.1 listens on.
free_port() {
	local i port
	for i in $(seq 1 100); do
		port=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	log "no free port found"
	return 1
}

# wait_http URL: waits up to 30 s for URL to answer 200.
wait_http() {
	local i
	for i in $(seq 1 300); do
		if curl -fsS -o /dev/null "$1" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	log "$1 did not answer 200 within 30s"
	return 1
}

# stop_pid PID: stops a child of this shell and waits for it; nothing for
# an empty PID.
stop_pid() {
	[[ -n $1 ]] || return 0
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# ratio A B: A / B to two decimals, "?" when B is not positive.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }'; }

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// system is one thing under load: a name for the table, where wrk sends requests, the process
// tree whose CPU and memory are charged to it, and the rounds measured.
type system struct {
	name string
	desc string
	addr string // host:port on loopback
	path string // request path
	host string // Host header; "" means addr
	proc *proc
	// rejects is true for the quota-trip Tollgate: its non-2xx answers are the point, not an error.
	rejects bool
	// primed is how long the first request of every key took (Tollgate only), see prime.
	primed time.Duration
	rounds []round
}

func (s *system) url() string { return "http://" + s.addr + s.path }

// startListener starts one of the benchmark's own Go binaries with -addr on a free port.
func startListener(ps *procSet, work, name, bin string, args ...string) (*proc, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	p, err := ps.start(work, name, bin, append([]string{"-addr", addr}, args...), nil)
	if err != nil {
		return nil, "", err
	}
	return p, addr, waitListening(p, addr, 15*time.Second)
}

// nginxConf renders a self-contained nginx configuration rooted at prefix: no Debian defaults are
// read, every path nginx writes (pid, logs, temp files) is under prefix, it stays in the
// foreground as our child (daemon off) and runs one worker per core. The upstream pool keeps
// connections alive, as every proxy here does. With lua, the Lua module checks the x-api-key
// header against a shared dict of the benchmark's keys (loaded once in the master before the
// workers fork) and counts each request in a per-second and a per-day shared-dict counter with
// limits that never trip — the work an OpenResty-class gateway (Kong, APISIX) does per request.
func nginxConf(prefix, listen, backend string, lua bool, keysFile string) string {
	var b strings.Builder
	if lua {
		fmt.Fprintf(&b, "load_module %s;\nload_module %s;\n", ndkModule, luaModule)
	}
	if os.Geteuid() == 0 {
		b.WriteString("user nobody nogroup;\n") // workers never need root
	}
	fmt.Fprintf(&b, `worker_processes %d;
daemon off;
master_process on;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path %[2]s/tmp/body;
    proxy_temp_path %[2]s/tmp/proxy;
    fastcgi_temp_path %[2]s/tmp/fastcgi;
    uwsgi_temp_path %[2]s/tmp/uwsgi;
    scgi_temp_path %[2]s/tmp/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    upstream backend {
        server %[3]s;
        keepalive 256;
        keepalive_requests 10000000;
        keepalive_timeout 300s;
    }
`, runtime.NumCPU(), prefix, backend)
	if lua {
		fmt.Fprintf(&b, `    lua_shared_dict bench_keys 16m;
    lua_shared_dict bench_counters 64m;
    init_by_lua_block {
        local keys = ngx.shared.bench_keys
        local n = 0
        for line in io.lines([[%s]]) do
            if line ~= "" then
                local ok, err = keys:set(line, true)
                if not ok then error("loading keys: " .. err) end
                n = n + 1
            end
        end
        ngx.log(ngx.NOTICE, "bench: loaded ", n, " keys")
    }
`, keysFile)
	}
	fmt.Fprintf(&b, `    server {
        listen %s backlog=4096;
        location / {
`, listen)
	if lua {
		b.WriteString(`            access_by_lua_block {
                local key = ngx.var.http_x_api_key
                if not key or not ngx.shared.bench_keys:get(key) then
                    return ngx.exit(403)
                end
                local counters = ngx.shared.bench_counters
                local now = ngx.time()
                local n = counters:incr("s:" .. key .. ":" .. now, 1, 0, 2)
                if not n or n > 1000000 then
                    return ngx.exit(429)
                end
                n = counters:incr("d:" .. key .. ":" .. math.floor(now / 86400), 1, 0, 172800)
                if not n or n > 1000000000000 then
                    return ngx.exit(429)
                end
            }
`)
	}
	b.WriteString(`            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`)
	return b.String()
}

// startNginx writes the configuration under work/name and starts nginx with it.
func startNginx(ps *procSet, work, name, backend string, lua bool, keysFile string) (*proc, string, error) {
	prefix := filepath.Join(work, name)
	if err := os.MkdirAll(filepath.Join(prefix, "tmp"), 0o755); err != nil {
		return nil, "", err
	}
	if os.Geteuid() == 0 {
		// The workers run as nobody: let them into the temp directories nginx creates there.
		if err := os.Chmod(work, 0o755); err != nil {
			return nil, "", err
		}
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(prefix, addr, backend, lua, keysFile)), 0o644); err != nil {
		return nil, "", err
	}
	p, err := ps.start(work, name, nginxBin, []string{"-p", prefix + "/", "-c", conf, "-e", filepath.Join(prefix, "error.log")}, nil)
	if err != nil {
		return nil, "", err
	}
	if err := waitListening(p, addr, 15*time.Second); err != nil {
		b, _ := os.ReadFile(filepath.Join(prefix, "error.log"))
		return nil, "", fmt.Errorf("%w\nerror.log:\n%s", err, tail(b, 2000))
	}
	return p, addr, nil
}

// startTollgate starts `tollgate serve` with a fresh data directory, the management API on one
// port and the data plane alone on another (--gateway-addr), so the load never goes through the
// management router. The account-level throttle (API Gateway's 10,000 rps default) is raised out
// of reach: the benchmark measures the cost of the checks, not their verdict.
func startTollgate(ps *procSet, work, name, bin string, extra, env []string) (p *proc, mgmtAddr, gwAddr string, err error) {
	dataDir := filepath.Join(work, name+"-data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, "", "", err
	}
	if mgmtAddr, err = freeAddr(); err != nil {
		return nil, "", "", err
	}
	if gwAddr, err = freeAddr(); err != nil {
		return nil, "", "", err
	}
	p, err = ps.start(work, name, bin, append([]string{"serve", "--addr", mgmtAddr, "--gateway-addr", gwAddr, "--data-dir", dataDir,
		"--account-rate-limit", "1000000000", "--account-burst-limit", "1000000000", "--log-level", "warn"}, extra...),
		append([]string{"TOLLGATE_ACCESS_KEY_ID=", "TOLLGATE_SECRET_ACCESS_KEY="}, env...))
	if err != nil {
		return nil, "", "", err
	}
	if err := waitListening(p, mgmtAddr, 30*time.Second); err != nil {
		return nil, "", "", err
	}
	if err := waitListening(p, gwAddr, 10*time.Second); err != nil {
		return nil, "", "", err
	}
	return p, mgmtAddr, gwAddr, nil
}

package nginxtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// writeConfig writes nginx.conf into dir, and with o.Cache a verbatim copy
// of the snippet (nobody, nginx's user under root, may not be able to
// read the source tree), and returns the configuration's path.
//
// One worker with room for every simulated agent's connection; no access
// log; upstream connections kept alive, as a git host's proxy would.
func writeConfig(dir, addr string, o Options) (string, error) {
	for _, d := range []string{"tmp", "cache"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return "", err
		}
	}
	var cache string
	if o.Cache {
		snippet, err := os.ReadFile(SnippetPath())
		if err != nil {
			return "", fmt.Errorf("read the cache snippet: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "git-cache.conf"), snippet, 0o644); err != nil {
			return "", err
		}
		cache = fmt.Sprintf("    proxy_cache_path %s levels=1:2 keys_zone=%s:10m inactive=1m;\n    include %s;\n",
			filepath.Join(dir, "cache"), Zone, filepath.Join(dir, "git-cache.conf"))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `worker_processes 1;
worker_rlimit_nofile 20000;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 16000; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
%[2]s    upstream git_host {
        server %[3]s;
        keepalive 64;
    }
    server {
        listen %[4]s;
        location / {
            proxy_pass http://git_host;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_read_timeout 60s;
        }
    }
}
`, dir, cache, o.Upstream, addr)
	conf := filepath.Join(dir, "nginx.conf")
	return conf, os.WriteFile(conf, []byte(b.String()), 0o644)
}

package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// nginxConf proxies to the backend over a keepalive upstream. It sets the
// headers the router sets (the client's Host, X-Forwarded-For, -Host and
// -Proto), so both proxies do the same work.
const nginxConf = `daemon off;
worker_processes auto;
worker_rlimit_nofile 16384;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log warn;
events { worker_connections 8192; }
http {
	access_log off;
	client_body_temp_path {{dir}}/client_body;
	proxy_temp_path {{dir}}/proxy;
	fastcgi_temp_path {{dir}}/fastcgi;
	uwsgi_temp_path {{dir}}/uwsgi;
	scgi_temp_path {{dir}}/scgi;
	upstream backend {
		server {{backend}};
		keepalive 64;
	}
	server {
		listen {{listen}};
		location / {
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host $host;
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Host $host;
			proxy_set_header X-Forwarded-Proto $scheme;
		}
	}
}
`

// startNginx runs nginx in the foreground (daemon off) with its own
// configuration in dir, listening on a free loopback port.
func startNginx(dir, backend string) (*child, string, error) {
	listen, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	conf := strings.NewReplacer("{{dir}}", dir, "{{backend}}", backend, "{{listen}}", listen).Replace(nginxConf)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, "", err
	}
	// -e: errors before the configuration is read go here too, not to
	// /var/log/nginx.
	cmd := exec.Command("nginx", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", path)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	c, err := start("nginx", cmd)
	if err != nil {
		return nil, "", err
	}
	return c, listen, nil
}

func nginxVersion() string {
	out, _ := exec.Command("nginx", "-v").CombinedOutput()
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "nginx version: ")
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// install installs the Debian packages of the commands that are missing,
// updating the package lists only if the first attempt fails.
func install(cmds ...string) error {
	var missing []string
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	fmt.Fprintf(os.Stderr, "bench: installing %s\n", strings.Join(missing, " "))
	aptInstall := func() error {
		cmd := exec.Command("apt-get", append([]string{"install", "-y", "-q"}, missing...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		return cmd.Run()
	}
	if aptInstall() == nil {
		return nil
	}
	update := exec.Command("apt-get", "update", "-q")
	update.Stdout, update.Stderr = os.Stderr, os.Stderr
	if err := update.Run(); err != nil {
		return fmt.Errorf("apt-get update: %w", err)
	}
	if err := aptInstall(); err != nil {
		return fmt.Errorf("apt-get install %s: %w", strings.Join(missing, " "), err)
	}
	return nil
}

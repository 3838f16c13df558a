// A minimal Lambda custom runtime in Go (standard library only), for tests/e2e/sampled.sh:
// Go makes its system calls itself, so the interposer cannot enter it and only the
// extension's /proc sampling sees what it does. Each invocation opens SAMPLED_FILE, connects to
// SAMPLED_PEER, holds both for SAMPLED_HOLD_MS, runs SAMPLED_CHILD, and answers {"ok":true}.
package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

func main() {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	hold, _ := strconv.Atoi(os.Getenv("SAMPLED_HOLD_MS"))
	for {
		resp, err := http.Get(api + "next")
		if err != nil {
			os.Exit(1)
		}
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		io.ReadAll(resp.Body)
		resp.Body.Close()
		f, ferr := os.Open(os.Getenv("SAMPLED_FILE"))
		c, cerr := net.Dial("tcp", os.Getenv("SAMPLED_PEER"))
		time.Sleep(time.Duration(hold) * time.Millisecond)
		exec.Command(os.Getenv("SAMPLED_CHILD")).Run()
		if cerr == nil {
			c.Close()
		}
		if ferr == nil {
			f.Close()
		}
		r, err := http.Post(api+id+"/response", "application/json", strings.NewReader(`{"ok":true}`))
		if err == nil {
			r.Body.Close()
		}
	}
}

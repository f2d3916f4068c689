package proctest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// HTTPReady returns a readiness check that GETs path and wants 200.
func HTTPReady(path string) func(addr string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return func(addr string) error {
		res, err := client.Get("http://" + addr + path)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, res.Status)
		}
		return nil
	}
}

// LoggedAddr returns an Options.ReportedAddr for a program that logs JSON lines: the "addr" field of the
// first complete line whose "message" is message.
func LoggedAddr(message string) func(output string) (string, bool) {
	return func(output string) (string, bool) {
		sc := bufio.NewScanner(strings.NewReader(output))
		for sc.Scan() {
			var l struct {
				Message string `json:"message"`
				Addr    string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Message == message && l.Addr != "" {
				return l.Addr, true
			}
		}
		return "", false
	}
}

package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"eng5np/capture"
)

// Endpoints are the addresses of the services a run uses. The runner knows
// nothing else about them, in particular not whether they are embedded.
type Endpoints struct {
	Kafka      capture.Conn
	ContentURL string
	CJURL      string
}

// services talks to the content service and the CJ admin API.
type services struct {
	ep     Endpoints
	client *http.Client
}

func newServices(ep Endpoints) *services {
	return &services{ep: ep, client: &http.Client{Timeout: 30 * time.Second}}
}

// HTTPError is a non-2xx answer.
type HTTPError struct {
	Method, URL string
	Status      int
	Body        string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.URL, e.Status, strings.TrimSpace(e.Body))
}

// do sends a request, retrying network errors and 5xx answers three times.
func (s *services) do(ctx context.Context, method, u, contentType string, body []byte, out any) (int, error) {
	var last error
	for attempt := 0; attempt < 4; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(time.Duration(attempt) * 300 * time.Millisecond):
			}
		}
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := s.client.Do(req)
		if err != nil {
			last = err
			continue
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			last = &HTTPError{Method: method, URL: u, Status: resp.StatusCode, Body: string(data)}
			continue
		}
		if resp.StatusCode >= 300 {
			return resp.StatusCode, &HTTPError{Method: method, URL: u, Status: resp.StatusCode, Body: string(data)}
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return resp.StatusCode, fmt.Errorf("%s %s: the answer is not the expected JSON: %v", method, u, err)
			}
		}
		return resp.StatusCode, nil
	}
	return 0, last
}

func join(base, path string) string { return strings.TrimRight(base, "/") + path }

// upload stores text in the content service and returns its storage id.
func (s *services) upload(ctx context.Context, text string) (string, error) {
	var out struct {
		StorageID string `json:"storage_id"`
	}
	if _, err := s.do(ctx, http.MethodPost, join(s.ep.ContentURL, "/v1/content"), "text/plain; charset=utf-8", []byte(text), &out); err != nil {
		return "", err
	}
	if out.StorageID == "" {
		return "", errors.New("the content service answered without a storage_id")
	}
	return out.StorageID, nil
}

// registerAnchor registers one anchor (idempotent on assignment + label).
func (s *services) registerAnchor(ctx context.Context, assignment, label, grade, text string) error {
	body, _ := json.Marshal(map[string]string{"assignment_id": assignment, "grade": grade, "anchor_label": label, "essay_text": text})
	_, err := s.do(ctx, http.MethodPost, join(s.ep.CJURL, "/api/v1/anchors/register"), "application/json", body, nil)
	return err
}

// AnchorList is the CJ admin API's view of an assignment's anchors.
type AnchorList struct {
	AnchorCount        int            `json:"anchor_count"`
	AnchorCountByScale map[string]int `json:"anchor_count_by_scale"`
	Anchors            []struct {
		AnchorID    string `json:"anchor_id"`
		AnchorLabel string `json:"anchor_label"`
		Grade       string `json:"grade"`
	} `json:"anchors"`
}

func (s *services) anchors(ctx context.Context, assignment string) (*AnchorList, error) {
	var out AnchorList
	_, err := s.do(ctx, http.MethodGet, join(s.ep.CJURL, "/admin/v1/anchors/assignment/"+url.PathEscape(assignment)), "", nil, &out)
	return &out, err
}

// reachable checks that something answers HTTP at base (any status below
// 500 counts: the point is that the service is up).
func (s *services) reachable(ctx context.Context, base, path string) error {
	if base == "" {
		return errors.New("no URL configured")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, join(base, path), nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

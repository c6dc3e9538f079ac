package huleedu

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
)

// DefaultTimeout bounds every request the client makes: a service that
// accepts the connection but never answers fails within it.
const DefaultTimeout = 10 * time.Second

// TokenSource gives the bearer token for the admin API.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// Client talks to the content service and the CJ service.
type Client struct {
	contentURL string
	cjURL      string
	// contentUser and cjUser are the user info the URLs were given with:
	// sent as basic auth, never part of a URL the client prints.
	contentUser *url.Userinfo
	cjUser      *url.Userinfo
	http        *http.Client
	// Admin gives the bearer token sent with every /admin/v1 request; nil
	// sends none.
	Admin TokenSource
	// Retries of a request that failed to connect or got 502/503/504
	// (default 3). Other answers are final: a deployed CJ service reports
	// every admin error as a 500 that no retry changes.
	Retries int
	// RetryDelay is the wait before the first retry; later ones wait
	// longer (default 300ms).
	RetryDelay time.Duration
}

// NewClient returns a client for the services at contentURL and cjURL, with
// every request bounded by timeout (DefaultTimeout when 0). The content
// URL is accepted with or without its /v1/content suffix.
func NewClient(contentURL, cjURL string, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c := &Client{http: &http.Client{Timeout: timeout}, Retries: 3, RetryDelay: 300 * time.Millisecond}
	c.contentURL, c.contentUser = splitUser(ContentBase(contentURL))
	c.cjURL, c.cjUser = splitUser(strings.TrimRight(cjURL, "/"))
	return c
}

// splitUser takes the user info out of a URL.
func splitUser(s string) (string, *url.Userinfo) {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s, nil
	}
	user := u.User
	u.User = nil
	return u.String(), user
}

// Redact replaces the password of a URL's user info with "xxxxx", for
// printing and recording; other text is returned as is.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// HasRedactedPassword reports whether a URL is one Redact made: its password
// is gone.
func HasRedactedPassword(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return false
	}
	p, ok := u.User.Password()
	return ok && p == "xxxxx"
}

// ContentBase strips a trailing /v1/content (users often configure the full
// upload URL) and trailing slashes from a content service URL.
func ContentBase(u string) string {
	u = strings.TrimRight(u, "/")
	return strings.TrimRight(strings.TrimSuffix(u, PathContent), "/")
}

func setBasic(req *http.Request, u *url.Userinfo) {
	p, _ := u.Password()
	req.SetBasicAuth(u.Username(), p)
}

// ContentURL and CJURL are the base URLs the client uses, without user
// info.
func (c *Client) ContentURL() string { return c.contentURL }

// CJURL is the CJ service's base URL.
func (c *Client) CJURL() string { return c.cjURL }

// StatusError is an answer outside 2xx.
type StatusError struct {
	Method, URL string
	Status      int
	Body        ErrorBody // decoded when the body is the services' error JSON
	Raw         string
}

func (e *StatusError) Error() string {
	msg := strings.TrimSpace(e.Raw)
	switch {
	case e.Body.Error != "" && e.Body.Message != "":
		msg = e.Body.Error + ": " + e.Body.Message
	case e.Body.Error != "":
		msg = e.Body.Error
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.URL, e.Status, msg)
}

// CatchAll reports whether the answer is the deployed CJ service's bare
// 500, which hides the real cause.
func (e *StatusError) CatchAll() bool {
	return e.Status == http.StatusInternalServerError && e.Body.Error == CatchAll.Error && e.Body.Message == CatchAll.Message
}

// StatusOf returns the HTTP status of an error from the client, or 0 when
// the request got no answer.
func StatusOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// AsStatus returns the error's *StatusError, if it is one.
func AsStatus(err error) (*StatusError, bool) {
	var se *StatusError
	ok := errors.As(err, &se)
	return se, ok
}

func retryable(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// do sends one request and decodes a 2xx JSON answer into out.
func (c *Client) do(ctx context.Context, method, u, contentType string, body []byte, admin bool, out any) error {
	var last error
	for attempt := 0; attempt <= c.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * c.RetryDelay):
			}
		}
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			return err
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("Accept", "application/json")
		switch {
		case c.cjUser != nil && strings.HasPrefix(u, c.cjURL):
			setBasic(req, c.cjUser)
		case c.contentUser != nil && strings.HasPrefix(u, c.contentURL):
			setBasic(req, c.contentUser)
		}
		if admin && c.Admin != nil {
			tok, err := c.Admin.Token(ctx)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			last = fmt.Errorf("%s %s: %w", method, u, unwrapURL(err))
			continue
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			se := &StatusError{Method: method, URL: u, Status: resp.StatusCode, Raw: string(data)}
			_ = json.Unmarshal(data, &se.Body)
			if retryable(resp.StatusCode) {
				last = se
				continue
			}
			return se
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("%s %s: the answer is not the expected JSON: %v", method, u, err)
			}
		}
		return nil
	}
	return last
}

// unwrapURL drops net/http's "Get \"url\": " prefix, which the caller's
// message already carries.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("no answer within the request timeout (%w)", ue.Err)
		}
		return ue.Err
	}
	return err
}

func (c *Client) getJSON(ctx context.Context, base, path string, admin bool, out any) error {
	return c.do(ctx, http.MethodGet, base+path, "", nil, admin, out)
}

func (c *Client) postJSON(ctx context.Context, base, path string, admin bool, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, base+path, "application/json", body, admin, out)
}

// Health checks a service's /healthz: any 2xx answer is healthy.
func (c *Client) Health(ctx context.Context, base string) error {
	if base == "" {
		return errors.New("no URL configured")
	}
	return c.do(ctx, http.MethodGet, strings.TrimRight(base, "/")+PathHealth, "", nil, false, nil)
}

// ContentHealth checks the content service; CJHealth the CJ service.
func (c *Client) ContentHealth(ctx context.Context) error { return c.Health(ctx, c.contentURL) }

// CJHealth checks the CJ service's /healthz (503 when its database is
// unhealthy).
func (c *Client) CJHealth(ctx context.Context) error { return c.Health(ctx, c.cjURL) }

// Upload stores text in the content service and returns its storage id.
func (c *Client) Upload(ctx context.Context, text string) (string, error) {
	var out ContentStored
	if err := c.do(ctx, http.MethodPost, c.contentURL+PathContent, "text/plain; charset=utf-8", []byte(text), false, &out); err != nil {
		return "", err
	}
	if out.StorageID == "" {
		return "", errors.New("the content service answered without a storage_id")
	}
	return out.StorageID, nil
}

// Content fetches a stored text by its storage id.
func (c *Client) Content(ctx context.Context, storageID string) (string, error) {
	u := c.contentURL + PathContent + "/" + url.PathEscape(storageID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", u, unwrapURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		se := &StatusError{Method: http.MethodGet, URL: u, Status: resp.StatusCode, Raw: string(data)}
		_ = json.Unmarshal(data, &se.Body)
		return "", se
	}
	return string(data), nil
}

// RegisterAnchor registers (upserts) one anchor.
func (c *Client) RegisterAnchor(ctx context.Context, a AnchorRegistration) (AnchorRegistered, error) {
	var out AnchorRegistered
	err := c.postJSON(ctx, c.cjURL, PathAnchorRegister, false, a, &out)
	return out, err
}

// AnchorSummary reads the anchors registered for an assignment.
func (c *Client) AnchorSummary(ctx context.Context, assignment string) (*AnchorSummary, error) {
	var out AnchorSummary
	if err := c.getJSON(ctx, c.cjURL, PathAdminAnchors+url.PathEscape(assignment), true, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Instructions reads an assignment's assessment instructions.
func (c *Client) Instructions(ctx context.Context, assignment string) (*Instructions, error) {
	var out Instructions
	if err := c.getJSON(ctx, c.cjURL, PathAdminInstructionsFor+url.PathEscape(assignment), true, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListInstructions reads the first page of every assessment instructions
// row; it answers whenever the admin API is on and the token is good.
func (c *Client) ListInstructions(ctx context.Context) (*InstructionsList, error) {
	var out InstructionsList
	path := fmt.Sprintf("%s?page=1&page_size=%d", PathAdminInstructions, defaultInstructionsPageSize)
	if err := c.getJSON(ctx, c.cjURL, path, true, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpsertInstructions creates or updates an assignment's instructions.
func (c *Client) UpsertInstructions(ctx context.Context, u InstructionsUpsert) (*Instructions, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	var out Instructions
	if err := c.postJSON(ctx, c.cjURL, PathAdminInstructions, true, u, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UploadStudentPrompt stores an assignment's student prompt and points its
// instructions at it.
func (c *Client) UploadStudentPrompt(ctx context.Context, assignment, text string) (*StudentPrompt, error) {
	if len([]rune(strings.TrimSpace(text))) < minPromptText {
		return nil, fmt.Errorf("the student prompt must have at least %d characters", minPromptText)
	}
	var out StudentPrompt
	if err := c.postJSON(ctx, c.cjURL, PathAdminStudentPrompts, true, StudentPromptUpload{AssignmentID: assignment, PromptText: text}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// StudentPrompt reads an assignment's student prompt.
func (c *Client) StudentPrompt(ctx context.Context, assignment string) (*StudentPrompt, error) {
	var out StudentPrompt
	if err := c.getJSON(ctx, c.cjURL, PathAdminStudentPromptFor+url.PathEscape(assignment), true, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UploadJudgeRubric stores an assignment's judge rubric.
func (c *Client) UploadJudgeRubric(ctx context.Context, assignment, text string) (*JudgeRubric, error) {
	if len([]rune(strings.TrimSpace(text))) < minPromptText {
		return nil, fmt.Errorf("the judge rubric must have at least %d characters", minPromptText)
	}
	var out JudgeRubric
	if err := c.postJSON(ctx, c.cjURL, PathAdminJudgeRubrics, true, JudgeRubricUpload{AssignmentID: assignment, RubricText: text}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// JudgeRubric reads an assignment's judge rubric.
func (c *Client) JudgeRubric(ctx context.Context, assignment string) (*JudgeRubric, error) {
	var out JudgeRubric
	if err := c.getJSON(ctx, c.cjURL, PathAdminJudgeRubricFor+url.PathEscape(assignment), true, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

package config

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Price is what one provider/model costs, in USD per million tokens.
type Price struct {
	Provider         string  `json:"provider"`
	Model            string  `json:"model"`
	InputUSDPerMTok  float64 `json:"input_usd_per_mtok"`
	OutputUSDPerMTok float64 `json:"output_usd_per_mtok"`
}

// Pricing is the pricing table.
type Pricing []Price

// MockProvider and MockModel name the embedded stack's judge. It is priced
// like a small commercial model so that costs are visible in a demo run.
const (
	MockProvider = "mock"
	MockModel    = "mock-judge-small"
)

// DefaultPricing prices the mock judge only; real models go in the config
// file's pricing list (see eng5np.example.yaml).
func DefaultPricing() Pricing {
	return Pricing{{Provider: MockProvider, Model: MockModel, InputUSDPerMTok: 0.80, OutputUSDPerMTok: 4.00}}
}

// Lookup returns the price of a provider/model.
func (p Pricing) Lookup(provider, model string) (Price, bool) {
	for _, pr := range p {
		if pr.Provider == provider && pr.Model == model {
			return pr, true
		}
	}
	return Price{}, false
}

// Cost returns the USD cost of the given token counts.
func (pr Price) Cost(inputTokens, outputTokens int) float64 {
	return (float64(inputTokens)*pr.InputUSDPerMTok + float64(outputTokens)*pr.OutputUSDPerMTok) / 1e6
}

func (p Pricing) String() string {
	parts := make([]string, len(p))
	for i, pr := range p {
		parts[i] = fmt.Sprintf("%s/%s in=%s out=%s", pr.Provider, pr.Model,
			strconv.FormatFloat(pr.InputUSDPerMTok, 'f', -1, 64), strconv.FormatFloat(pr.OutputUSDPerMTok, 'f', -1, 64))
	}
	return strings.Join(parts, "; ")
}

func parsePricing(raw any) (Pricing, error) {
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("must be a list of entries")
	}
	var out Pricing
	seen := map[string]bool{}
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("entry %d is not a mapping", i+1)
		}
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var pr Price
		for _, k := range keys {
			v := m[k]
			switch k {
			case "provider", "model":
				s, ok := v.(string)
				if !ok || strings.TrimSpace(s) == "" {
					return nil, fmt.Errorf("entry %d: %s must be a non-empty string", i+1, k)
				}
				if k == "provider" {
					pr.Provider = s
				} else {
					pr.Model = s
				}
			case "input_usd_per_mtok", "output_usd_per_mtok":
				f, err := toFloat(v)
				if err != nil || f < 0 || math.IsInf(f, 0) {
					return nil, fmt.Errorf("entry %d: %s must be a number ≥ 0", i+1, k)
				}
				if k == "input_usd_per_mtok" {
					pr.InputUSDPerMTok = f
				} else {
					pr.OutputUSDPerMTok = f
				}
			default:
				return nil, fmt.Errorf("entry %d: unknown field %q", i+1, k)
			}
		}
		if pr.Provider == "" || pr.Model == "" {
			return nil, fmt.Errorf("entry %d: provider and model are required", i+1)
		}
		id := pr.Provider + "/" + pr.Model
		if seen[id] {
			return nil, fmt.Errorf("entry %d: %s is priced twice", i+1, id)
		}
		seen[id] = true
		out = append(out, pr)
	}
	// The mock judge stays priced unless the file prices it differently.
	if _, ok := out.Lookup(MockProvider, MockModel); !ok {
		out = append(out, DefaultPricing()...)
	}
	return out, nil
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	case string:
		return strconv.ParseFloat(strings.TrimSpace(x), 64)
	}
	return 0, fmt.Errorf("not a number")
}

// EstimateTokens estimates the tokens of a text the way the embedded mock
// provider reports them: one token per four bytes, rounded up. Real
// tokenizers differ by model; for English prose this is within about 15%.
func EstimateTokens(text string) int {
	return (len(text) + 3) / 4
}

package events

// LLMConfigOverrides are the runner's overrides of the CJ service's LLM
// settings, sent in the CJ request and recorded in the artefact's metadata.
type LLMConfigOverrides struct {
	ProviderOverride     string   `json:"provider_override,omitempty"`
	ModelOverride        string   `json:"model_override,omitempty"`
	TemperatureOverride  *float64 `json:"temperature_override,omitempty"`
	MaxTokensOverride    *int     `json:"max_tokens_override,omitempty"`
	SystemPromptOverride string   `json:"system_prompt_override,omitempty"`
	JudgeRubricOverride  string   `json:"judge_rubric_override,omitempty"`
	ReasoningEffort      string   `json:"reasoning_effort,omitempty"`
	OutputVerbosity      string   `json:"output_verbosity,omitempty"`
}

// Accepted values of the reasoning and verbosity hints.
var (
	ReasoningEfforts  = []string{"none", "low", "medium", "high"}
	OutputVerbosities = []string{"low", "medium", "high"}
)

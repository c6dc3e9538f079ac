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
}

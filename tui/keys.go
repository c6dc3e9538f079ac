package tui

import "charm.land/bubbles/v2/key"

// keyMap is every key the dashboard knows; each screen shows the ones it uses
// in its help line.
type keyMap struct {
	Start  key.Binding
	Rerun  key.Binding
	Quit   key.Binding
	Stop   key.Binding
	Yes    key.Binding
	No     key.Binding
	Resume key.Binding
}

func defaultKeys() keyMap {
	return keyMap{
		Start:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "start")),
		Rerun:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "re-run checks")),
		Quit:   key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Stop:   key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "stop")),
		Yes:    key.NewBinding(key.WithKeys("y", "enter", "ctrl+c"), key.WithHelp("y", "stop and write the artefact")),
		No:     key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n", "keep capturing")),
		Resume: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "resume capture in place")),
	}
}

package inspect

import "charm.land/lipgloss/v2"

// Styles are the inspector's lipgloss styles. Colours are dropped by the
// program's colour profile under NO_COLOR; what must stay readable without
// colour (the selected row, the active tab) also uses bold or reverse.
type Styles struct {
	Title, Tab, ActiveTab, Dim, Header lipgloss.Style
	Selected, Good, Warn, Bad, Error   lipgloss.Style
	Status, Dialog, Key                lipgloss.Style
}

// DefaultStyles suit dark and light terminals alike (ANSI colours).
func DefaultStyles() Styles {
	return Styles{
		Title:     lipgloss.NewStyle().Bold(true),
		Tab:       lipgloss.NewStyle().Padding(0, 1),
		ActiveTab: lipgloss.NewStyle().Padding(0, 1).Reverse(true).Bold(true),
		Dim:       lipgloss.NewStyle().Foreground(lipgloss.BrightBlack),
		Header:    lipgloss.NewStyle().Bold(true),
		Selected:  lipgloss.NewStyle().Reverse(true),
		Good:      lipgloss.NewStyle().Foreground(lipgloss.Green),
		Warn:      lipgloss.NewStyle().Foreground(lipgloss.Yellow),
		Bad:       lipgloss.NewStyle().Foreground(lipgloss.Red).Bold(true),
		Error:     lipgloss.NewStyle().Foreground(lipgloss.Red).Bold(true),
		Status:    lipgloss.NewStyle().Foreground(lipgloss.Cyan),
		Dialog:    lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 1),
		Key:       lipgloss.NewStyle().Bold(true),
	}
}

package inspect

import "charm.land/bubbles/v2/key"

// KeyMap is every key binding of the inspector; it implements
// help.KeyMap for the help bar and the full help (?).
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Open, Back, Switch, Pop                 key.Binding
	Filter, Sort, Order                     key.Binding
	PurgeOne, PurgeMatching, PurgeTag       key.Binding
	PurgePrefix, Refresh, Help, Quit        key.Binding
}

// DefaultKeyMap has vim keys and arrows for everything.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:            key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:          key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:        key.NewBinding(key.WithKeys("pgup", "ctrl+b", "b"), key.WithHelp("pgup/b", "page up")),
		PageDown:      key.NewBinding(key.WithKeys("pgdown", "ctrl+f", "f", "space"), key.WithHelp("pgdn/f", "page down")),
		Top:           key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first")),
		Bottom:        key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last")),
		Open:          key.NewBinding(key.WithKeys("enter", "l", "right"), key.WithHelp("enter", "open")),
		Back:          key.NewBinding(key.WithKeys("esc", "h", "left", "backspace"), key.WithHelp("esc", "back")),
		Switch:        key.NewBinding(key.WithKeys("tab", "shift+tab"), key.WithHelp("tab", "overview/entries")),
		Pop:           key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "next PoP")),
		Filter:        key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Sort:          key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort by")),
		Order:         key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "reverse")),
		PurgeOne:      key.NewBinding(key.WithKeys("x", "delete"), key.WithHelp("x", "purge entry")),
		PurgeMatching: key.NewBinding(key.WithKeys("X"), key.WithHelp("X", "purge all matching")),
		PurgeTag:      key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "purge tag")),
		PurgePrefix:   key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "purge prefix")),
		Refresh:       key.NewBinding(key.WithKeys("r", "ctrl+r"), key.WithHelp("r", "refresh/retry")),
		Help:          key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:          key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp is the help bar.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Switch, k.Open, k.Filter, k.Sort, k.PurgeOne, k.Help, k.Quit}
}

// FullHelp is the help shown with ?.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Switch, k.Open, k.Back, k.Pop, k.Refresh},
		{k.Filter, k.Sort, k.Order, k.Help, k.Quit},
		{k.PurgeOne, k.PurgeMatching, k.PurgeTag, k.PurgePrefix},
	}
}

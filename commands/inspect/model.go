package inspect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/table"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/cdnctl/cdnctl/localedge"
	"github.com/cdnctl/cdnctl/localedge/adminclient"
)

// state is the screen shown.
type state int

const (
	stateOverview state = iota
	stateEntries
	stateDetail
)

func (s state) String() string {
	return [...]string{"overview", "entries", "detail"}[s]
}

// sortFields are the orders of the entries listing, in the order s
// cycles through them.
var sortFields = []string{"key", "size", "age", "ttl", "hits", "status"}

// keepCursor asks a page load to keep the selection where it is.
const keepCursor = -2

// popView is one PoP's line of the overview.
type popView struct {
	cur, prev  localedge.Stats
	at, prevAt time.Time
	// reqRate and fetchRate are per second over the last interval; -1
	// until two samples exist.
	reqRate, fetchRate float64
	// history holds the hit ratio of each interval (-1: no lookups).
	history []float64
}

// prompt is a line being typed: the filter, or a purge target.
type prompt struct {
	kind  string // "filter", "tag", "prefix"
	value string
}

// Model is the inspector. Use New; the zero value is not usable.
type Model struct {
	// ctx bounds the admin API calls of the Cmds (soft-serve's Common
	// pattern): cancelled when the program ends.
	ctx  context.Context
	opts Options
	keys KeyMap
	// purgeKeys are the purge bindings, still matched with --readonly
	// (where keys has them disabled, out of the help) to say why not.
	purgeKeys []key.Binding
	st        Styles
	help      help.Model

	width, height int
	state         state
	showHelp      bool

	// Overview.
	pops      []string // in the order the API lists them
	popViews  map[string]*popView
	ovCursor  int
	statsErr  string
	statsAt   time.Time
	tickSeq   int
	connected bool // a stats answer has arrived since the last error

	// Entries.
	pop     string // "" = every PoP
	filter  string
	sortIdx int
	desc    bool
	page    localedge.EntryPage
	pageErr string
	pageSeq int
	loading bool
	// requested is the query of the page being loaded.
	requested adminclient.ListQuery
	table     table.Model
	keyWidth  int // the KEY column's width
	filterGo  int // debounce sequence of the filter

	// Detail.
	detail    *localedge.EntryDetail
	detailErr string
	viewport  viewport.Model

	// Dialogs and the status line.
	prompt  *prompt
	confirm *purgePlan
	busy    string
	status  string
	failed  bool
	// filterErr says the status is the API's complaint about the
	// filter, cleared by the next good listing.
	filterErr bool
}

// New builds the inspector; nothing is fetched until the program runs
// Init.
func New(ctx context.Context, opts Options) *Model {
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultRefresh
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Model{
		ctx:      ctx,
		opts:     opts,
		keys:     DefaultKeyMap(),
		st:       DefaultStyles(),
		help:     help.New(),
		popViews: map[string]*popView{},
		pop:      opts.Pop,
		filter:   opts.Filter,
		width:    80,
		height:   24,
	}
	if opts.Pop != "" || opts.Filter != "" {
		m.state = stateEntries
	}
	k := &m.keys
	m.purgeKeys = []key.Binding{k.PurgeOne, k.PurgeMatching, k.PurgeTag, k.PurgePrefix}
	if opts.ReadOnly {
		for _, b := range []*key.Binding{&k.PurgeOne, &k.PurgeMatching, &k.PurgeTag, &k.PurgePrefix} {
			b.SetEnabled(false)
		}
	}
	m.table = table.New(table.WithFocused(true), table.WithWidth(80), table.WithHeight(10))
	ts := table.DefaultStyles()
	ts.Header = m.st.Header.Padding(0, 1)
	ts.Selected = m.st.Selected
	m.table.SetStyles(ts)
	m.viewport = viewport.New(viewport.WithWidth(80), viewport.WithHeight(10))
	m.layout()
	return m
}

// Init loads the statistics and the first page, and starts the refresh
// timer.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.statsCmd(), m.pageCmd(0, 0), m.tickCmd())
}

// Update handles one message. It never does I/O: that is in the Cmds it
// returns.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case tickMsg:
		if msg.seq != m.tickSeq {
			return m, nil // an older timer, replaced by a manual refresh
		}
		cmds := []tea.Cmd{m.statsCmd(), m.tickCmd()}
		if m.state == stateEntries && !m.loading && m.prompt == nil {
			cmds = append(cmds, m.pageCmd(m.page.Offset, keepCursor))
		}
		return m, tea.Batch(cmds...)
	case statsMsg:
		m.applyStats(msg)
		return m, nil
	case pageMsg:
		if msg.seq != m.pageSeq {
			return m, nil // the query changed since
		}
		m.loading = false
		var apiErr *adminclient.APIError
		if errors.As(msg.err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest {
			// A filter being typed ("tag:" with no value yet): say why,
			// keep the last listing, no retry banner.
			m.pageErr = ""
			m.setStatus(true, "%s", apiErr.Message)
			m.filterErr = true
			return m, nil
		}
		if msg.err != nil {
			m.pageErr = describeError(msg.err)
			return m, nil
		}
		if m.filterErr {
			m.status, m.filterErr = "", false
		}
		m.pageErr = ""
		m.setPage(msg.page, msg.cursor)
		return m, nil
	case detailMsg:
		m.busy = ""
		if msg.err != nil {
			m.detailErr = describeError(msg.err)
			m.detail = nil
		} else {
			m.detailErr = ""
			d := msg.detail
			m.detail = &d
		}
		m.viewport.SetContent(m.detailContent())
		m.viewport.GotoTop()
		return m, nil
	case planMsg:
		m.busy = ""
		if msg.err != nil {
			m.setStatus(true, "purge: %s", describeError(msg.err))
			return m, nil
		}
		if msg.plan.Count == 0 && !msg.plan.Req.All {
			m.setStatus(false, "nothing to purge: no cached entry for %s", msg.plan.What)
			return m, nil
		}
		m.confirm = msg.plan
		return m, nil
	case purgedMsg:
		m.busy = ""
		if msg.err != nil {
			m.setStatus(true, "purge of %s failed: %s", msg.plan.What, describeError(msg.err))
		} else {
			kind := "hard"
			if msg.plan.Req.Soft {
				kind = "soft"
			}
			// The plan counts entries (key × PoP), the admin API stored
			// responses: one entry holds a response per variant.
			n := msg.plan.Count
			if n == 0 || msg.plan.Req.All {
				n = msg.purged
			}
			if msg.purged != n {
				kind += fmt.Sprintf("; %d stored response%s", msg.purged, plural(msg.purged, "", "s"))
			}
			m.setStatus(false, "purged %d entr%s (%s) for %s in %s", n, plural(n, "y", "ies"), kind, msg.plan.What, msg.took.Round(time.Millisecond))
			if m.state == stateDetail {
				m.state = stateEntries // what the detail showed is gone
			}
		}
		return m, tea.Batch(m.statsCmd(), m.pageCmd(m.page.Offset, keepCursor))
	case filterFireMsg:
		if msg.seq != m.filterGo {
			return m, nil
		}
		return m, m.pageCmd(0, 0)
	case tea.MouseWheelMsg:
		return m, m.wheel(msg)
	case tea.KeyPressMsg:
		return m, m.key(msg)
	}
	return m, nil
}

// filterFireMsg runs the filter once typing pauses.
type filterFireMsg struct{ seq int }

func (m *Model) setStatus(failed bool, format string, args ...any) {
	m.status, m.failed, m.filterErr = fmt.Sprintf(format, args...), failed, false
}

// applyStats records a stats answer and derives rates and hit ratios.
func (m *Model) applyStats(msg statsMsg) {
	if msg.err != nil {
		m.statsErr = describeError(msg.err)
		m.connected = false
		return
	}
	m.statsErr, m.connected, m.statsAt = "", true, msg.at
	m.pops = m.pops[:0]
	for _, s := range msg.resp.PoPs {
		m.pops = append(m.pops, s.Name)
		v := m.popViews[s.Name]
		if v == nil {
			v = &popView{reqRate: -1, fetchRate: -1}
			m.popViews[s.Name] = v
		} else {
			v.prev, v.prevAt = v.cur, v.at
		}
		v.cur, v.at = s, msg.at
		if v.prevAt.IsZero() {
			continue
		}
		dt := v.at.Sub(v.prevAt).Seconds()
		if dt <= 0 {
			continue
		}
		v.reqRate = float64(s.Requests-v.prev.Requests) / dt
		v.fetchRate = float64(s.OriginFetches-v.prev.OriginFetches) / dt
		hits, lookups := s.Hits-v.prev.Hits, s.Hits+s.Misses-v.prev.Hits-v.prev.Misses
		sample := -1.0
		if lookups > 0 {
			sample = float64(hits) / float64(lookups)
		}
		v.history = append(v.history, sample)
		if len(v.history) > historyLen {
			v.history = slices.Delete(v.history, 0, len(v.history)-historyLen)
		}
	}
	m.ovCursor = min(m.ovCursor, max(len(m.pops)-1, 0))
}

// setPage shows a page and places the selection.
func (m *Model) setPage(page localedge.EntryPage, cursor int) {
	prev := m.table.Cursor()
	m.page = page
	rows := make([]table.Row, 0, len(page.Entries))
	for _, e := range page.Entries {
		rows = append(rows, m.entryRow(e))
	}
	m.table.SetRows(rows)
	switch {
	case len(rows) == 0:
		m.table.SetCursor(0)
	case cursor == keepCursor:
		m.table.SetCursor(min(prev, len(rows)-1))
	case cursor < 0:
		m.table.SetCursor(len(rows) - 1)
	default:
		m.table.SetCursor(min(cursor, len(rows)-1))
	}
}

func (m *Model) listQuery() adminclient.ListQuery {
	return adminclient.ListQuery{Pop: m.pop, Filter: strings.TrimSpace(m.filter), Sort: sortFields[m.sortIdx], Desc: m.desc, Limit: m.opts.PageSize}
}

// selected is the entry under the cursor.
func (m *Model) selected() (localedge.EntryInfo, bool) {
	i := m.table.Cursor()
	if i < 0 || i >= len(m.page.Entries) {
		return localedge.EntryInfo{}, false
	}
	return m.page.Entries[i], true
}

// key handles a key press in the current mode.
func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case m.confirm != nil:
		return m.confirmKey(msg)
	case m.prompt != nil:
		return m.promptKey(msg)
	case msg.String() == "ctrl+c":
		return tea.Quit
	case m.showHelp && (key.Matches(msg, m.keys.Help) || msg.String() == "esc"):
		m.showHelp = false
		return nil
	}
	if m.opts.ReadOnly && key.Matches(msg, m.purgeKeys...) {
		m.setStatus(true, "read-only: purging is disabled (started with --readonly)")
		return nil
	}
	k := m.keys
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Help):
		m.showHelp = !m.showHelp
		return nil
	case key.Matches(msg, k.Refresh):
		m.tickSeq++
		m.status = ""
		cmds := []tea.Cmd{m.statsCmd(), m.tickCmd()}
		switch m.state {
		case stateEntries:
			cmds = append(cmds, m.pageCmd(m.page.Offset, keepCursor))
		case stateDetail:
			if e, ok := m.selected(); ok {
				cmds = append(cmds, m.detailCmd(e))
			}
		}
		return tea.Batch(cmds...)
	case key.Matches(msg, k.Switch):
		if m.state == stateOverview {
			m.state = stateEntries
			return m.pageCmd(m.page.Offset, keepCursor)
		}
		m.state = stateOverview
		return nil
	}
	switch m.state {
	case stateOverview:
		return m.overviewKey(msg)
	case stateEntries:
		return m.entriesKey(msg)
	default:
		return m.detailKey(msg)
	}
}

func (m *Model) overviewKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	switch {
	case key.Matches(msg, k.Up):
		m.ovCursor = max(m.ovCursor-1, 0)
	case key.Matches(msg, k.Down):
		m.ovCursor = min(m.ovCursor+1, max(len(m.pops)-1, 0))
	case key.Matches(msg, k.Top):
		m.ovCursor = 0
	case key.Matches(msg, k.Bottom):
		m.ovCursor = max(len(m.pops)-1, 0)
	case key.Matches(msg, k.Open):
		if m.ovCursor < len(m.pops) {
			m.pop = m.pops[m.ovCursor]
		}
		m.state = stateEntries
		return m.pageCmd(0, 0)
	case key.Matches(msg, k.Filter):
		m.state = stateEntries
		m.prompt = &prompt{kind: "filter", value: m.filter}
		return m.pageCmd(0, 0)
	case key.Matches(msg, k.PurgeTag, k.PurgePrefix, k.PurgeMatching):
		return m.startPurge(msg)
	}
	return nil
}

func (m *Model) entriesKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	more := m.page.Offset+len(m.page.Entries) < m.page.Total
	cur, last := m.table.Cursor(), len(m.page.Entries)-1
	switch {
	case key.Matches(msg, k.Down):
		if cur >= last && more {
			return m.pageCmd(m.page.Offset+m.opts.PageSize, 0)
		}
		m.table.MoveDown(1)
	case key.Matches(msg, k.Up):
		if cur <= 0 && m.page.Offset > 0 {
			return m.pageCmd(m.page.Offset-m.opts.PageSize, -1)
		}
		m.table.MoveUp(1)
	case key.Matches(msg, k.PageDown):
		if cur+m.table.Height() > last && more {
			return m.pageCmd(m.page.Offset+m.opts.PageSize, 0)
		}
		m.table.MoveDown(m.table.Height())
	case key.Matches(msg, k.PageUp):
		if cur-m.table.Height() < 0 && m.page.Offset > 0 {
			return m.pageCmd(m.page.Offset-m.opts.PageSize, -1)
		}
		m.table.MoveUp(m.table.Height())
	case key.Matches(msg, k.Top):
		if m.page.Offset > 0 {
			return m.pageCmd(0, 0)
		}
		m.table.GotoTop()
	case key.Matches(msg, k.Bottom):
		if more {
			lastPage := (m.page.Total - 1) / m.opts.PageSize * m.opts.PageSize
			return m.pageCmd(lastPage, -1)
		}
		m.table.GotoBottom()
	case key.Matches(msg, k.Open):
		if e, ok := m.selected(); ok {
			m.state = stateDetail
			m.detail, m.detailErr = nil, ""
			m.busy = "loading " + e.URL
			m.viewport.SetContent("")
			return m.detailCmd(e)
		}
	case key.Matches(msg, k.Back):
		if m.filter != "" {
			m.filter = ""
			return m.pageCmd(0, 0)
		}
		m.state = stateOverview
	case key.Matches(msg, k.Filter):
		m.prompt = &prompt{kind: "filter", value: m.filter}
	case key.Matches(msg, k.Sort):
		m.sortIdx = (m.sortIdx + 1) % len(sortFields)
		// Numbers read best largest first; keys alphabetically.
		m.desc = sortFields[m.sortIdx] != "key"
		return m.pageCmd(0, 0)
	case key.Matches(msg, k.Order):
		m.desc = !m.desc
		return m.pageCmd(0, 0)
	case key.Matches(msg, k.Pop):
		m.pop = m.nextPop()
		return m.pageCmd(0, 0)
	case key.Matches(msg, k.PurgeOne, k.PurgeMatching, k.PurgeTag, k.PurgePrefix):
		return m.startPurge(msg)
	}
	return nil
}

// nextPop cycles the PoP scope: every PoP, then each in turn.
func (m *Model) nextPop() string {
	if m.pop == "" {
		if len(m.pops) > 0 {
			return m.pops[0]
		}
		return ""
	}
	i := slices.Index(m.pops, m.pop)
	if i < 0 || i+1 >= len(m.pops) {
		return ""
	}
	return m.pops[i+1]
}

func (m *Model) detailKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	switch {
	case key.Matches(msg, k.Back):
		m.state = stateEntries
	case key.Matches(msg, k.Down):
		m.viewport.ScrollDown(1)
	case key.Matches(msg, k.Up):
		m.viewport.ScrollUp(1)
	case key.Matches(msg, k.PageDown):
		m.viewport.PageDown()
	case key.Matches(msg, k.PageUp):
		m.viewport.PageUp()
	case key.Matches(msg, k.Top):
		m.viewport.GotoTop()
	case key.Matches(msg, k.Bottom):
		m.viewport.GotoBottom()
	case key.Matches(msg, k.PurgeOne):
		return m.startPurge(msg)
	}
	return nil
}

// startPurge opens the purge the key asks for: at once for the selected
// entry or the filter (after counting), or after a prompt for a tag or a
// prefix.
func (m *Model) startPurge(msg tea.KeyPressMsg) tea.Cmd {
	if m.opts.ReadOnly {
		m.setStatus(true, "read-only: purging is disabled (started with --readonly)")
		return nil
	}
	k := m.keys
	switch {
	case key.Matches(msg, k.PurgeOne):
		e, ok := m.selected()
		if !ok {
			m.setStatus(true, "no entry selected")
			return nil
		}
		m.busy = "counting the PoPs holding " + e.URL
		return m.planOneCmd(e)
	case key.Matches(msg, k.PurgeMatching):
		m.busy = "counting the entries to purge"
		return m.planMatchingCmd()
	case key.Matches(msg, k.PurgeTag):
		m.prompt = &prompt{kind: "tag"}
	case key.Matches(msg, k.PurgePrefix):
		m.prompt = &prompt{kind: "prefix"}
	}
	return nil
}

// promptKey edits the line being typed.
func (m *Model) promptKey(msg tea.KeyPressMsg) tea.Cmd {
	p := m.prompt
	switch msg.String() {
	case "ctrl+c":
		return tea.Quit
	case "esc":
		m.prompt = nil
		return nil
	case "enter":
		m.prompt = nil
		v := strings.TrimSpace(p.value)
		switch p.kind {
		case "tag":
			if v == "" || strings.ContainsAny(v, " ,") {
				m.setStatus(true, "a tag is one word, without spaces or commas")
				return nil
			}
			m.busy = "counting the entries tagged " + v
			return m.planTagCmd(v)
		case "prefix":
			if !strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
				m.setStatus(true, "a prefix is a path (/assets/) or a URL (http://host/assets/)")
				return nil
			}
			m.busy = "counting the entries under " + v
			return m.planPrefixCmd(v)
		}
		return nil
	case "backspace", "ctrl+h":
		if r := []rune(p.value); len(r) > 0 {
			p.value = string(r[:len(r)-1])
		}
	case "ctrl+u":
		p.value = ""
	case "ctrl+w":
		v := strings.TrimRight(p.value, " ")
		if i := strings.LastIndexByte(v, ' '); i >= 0 {
			p.value = v[:i+1]
		} else {
			p.value = ""
		}
	default:
		if msg.Text == "" {
			return nil
		}
		p.value += msg.Text
	}
	if p.kind != "filter" {
		return nil
	}
	// Filter as you type: the listing reloads once typing pauses.
	m.filter = p.value
	m.filterGo++
	seq := m.filterGo
	return tea.Tick(150*time.Millisecond, func(time.Time) tea.Msg { return filterFireMsg{seq: seq} })
}

// confirmKey answers the purge confirmation: y purges hard, s soft.
func (m *Model) confirmKey(msg tea.KeyPressMsg) tea.Cmd {
	plan := m.confirm
	switch msg.String() {
	case "y", "Y":
		m.confirm = nil
		m.busy = "purging " + plan.What
		return m.purgeCmd(plan, false)
	case "s", "S":
		m.confirm = nil
		plan.Req.Soft = true
		m.busy = "soft-purging " + plan.What
		return m.purgeCmd(plan, true)
	case "n", "N", "esc", "q":
		m.confirm = nil
		m.setStatus(false, "purge cancelled")
	case "ctrl+c":
		return tea.Quit
	}
	return nil
}

// wheel scrolls what is under the mouse: the list, the overview or the
// detail.
func (m *Model) wheel(msg tea.MouseWheelMsg) tea.Cmd {
	down := msg.Button == tea.MouseWheelDown
	up := msg.Button == tea.MouseWheelUp
	if !down && !up {
		return nil
	}
	switch m.state {
	case stateOverview:
		if down {
			m.ovCursor = min(m.ovCursor+1, max(len(m.pops)-1, 0))
		} else {
			m.ovCursor = max(m.ovCursor-1, 0)
		}
	case stateEntries:
		cur, last := m.table.Cursor(), len(m.page.Entries)-1
		if down {
			if cur >= last && m.page.Offset+len(m.page.Entries) < m.page.Total {
				return m.pageCmd(m.page.Offset+m.opts.PageSize, 0)
			}
			m.table.MoveDown(3)
		} else {
			if cur <= 0 && m.page.Offset > 0 {
				return m.pageCmd(m.page.Offset-m.opts.PageSize, -1)
			}
			m.table.MoveUp(3)
		}
	case stateDetail:
		if down {
			m.viewport.ScrollDown(3)
		} else {
			m.viewport.ScrollUp(3)
		}
	}
	return nil
}

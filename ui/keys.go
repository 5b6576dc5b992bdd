package ui

import "github.com/charmbracelet/bubbles/key"

// The keys on the sale screen are a contract (design.md): digits and '.'
// type the amount, w and a charge, Esc cancels a waiting sale, q quits
// from the main screen. Scripts and tests drive the desk with them.

type globalKeys struct {
	Quit      key.Binding
	ForceQuit key.Binding
	Help      key.Binding
	// SeenLate acknowledges the late-payment banner, on any screen.
	SeenLate key.Binding
}

func defaultGlobalKeys() globalKeys {
	return globalKeys{
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "more keys")),
		SeenLate:  key.NewBinding(key.WithKeys("k"), key.WithHelp("k", "seen it")),
	}
}

type entryKeys struct {
	Digit     key.Binding
	WeChat    key.Binding
	Alipay    key.Binding
	Note      key.Binding
	Backspace key.Binding
	Clear     key.Binding
	Refresh   key.Binding
}

func defaultEntryKeys() entryKeys {
	return entryKeys{
		Digit: key.NewBinding(key.WithKeys("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "."),
			key.WithHelp("0-9 .", "amount")),
		WeChat:    key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "WeChat Pay")),
		Alipay:    key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "Alipay")),
		Note:      key.NewBinding(key.WithKeys("tab", "n"), key.WithHelp("tab", "note")),
		Backspace: key.NewBinding(key.WithKeys("backspace"), key.WithHelp("⌫", "delete")),
		Clear:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear")),
		Refresh:   key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "refresh list")),
	}
}

type noteKeys struct {
	Done   key.Binding
	Cancel key.Binding
}

func defaultNoteKeys() noteKeys {
	return noteKeys{
		Done:   key.NewBinding(key.WithKeys("enter", "tab"), key.WithHelp("enter", "done")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "discard note")),
	}
}

type waitingKeys struct {
	Cancel key.Binding
}

func defaultWaitingKeys() waitingKeys {
	return waitingKeys{
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel sale")),
	}
}

type resultKeys struct {
	Next key.Binding
}

func defaultResultKeys() resultKeys {
	return resultKeys{
		Next: key.NewBinding(key.WithKeys("enter", " ", "esc", "n"), key.WithHelp("enter", "next sale")),
	}
}

type problemKeys struct {
	Retry   key.Binding
	Abandon key.Binding
	Back    key.Binding
}

func defaultProblemKeys() problemKeys {
	return problemKeys{
		Retry:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "retry")),
		Abandon: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "give up on this sale")),
		Back:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "back")),
	}
}

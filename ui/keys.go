package ui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"till/catalog"
	"till/checkout"
)

// The keys on the sale screen are a contract (design.md): digits, '.' and
// ',' type the amount, w and a charge, Esc cancels a waiting sale, h lists
// the day's orders, q quits from the main screen. Scripts and tests drive
// the desk with them. Their help texts come from the catalogue.

type globalKeys struct {
	Quit      key.Binding
	ForceQuit key.Binding
	Help      key.Binding
	// SeenLate acknowledges the late-payment banner, on any screen.
	SeenLate key.Binding
}

func defaultGlobalKeys(p *catalog.Printer) globalKeys {
	return globalKeys{
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", p.T("key.quit"))),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", p.T("key.quit"))),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", p.T("key.more"))),
		SeenLate:  key.NewBinding(key.WithKeys("k"), key.WithHelp("k", p.T("key.seen"))),
	}
}

type entryKeys struct {
	Digit     key.Binding
	WeChat    key.Binding
	Alipay    key.Binding
	Note      key.Binding
	Today     key.Binding
	Backspace key.Binding
	Clear     key.Binding
	Refresh   key.Binding
	Manager   key.Binding
	Operator  key.Binding
	// Code opens the payment-code prompt; in it, CodeDigits type the
	// code, Charge charges it and Back returns to the amount.
	Code       key.Binding
	CodeDigits key.Binding
	Charge     key.Binding
	Back       key.Binding
}

// narrowKey reads a key typed in a Chinese input method's full-width
// mode as its ASCII key: "１" is 1, "。" and "．" are the point, "，" the
// comma, "ｗ" is w. The note keeps what was typed; this is for keys.
func narrowKey(k tea.KeyMsg) tea.KeyMsg {
	if k.Type != tea.KeyRunes || k.Paste {
		return k
	}
	if n := []rune(checkout.NarrowAmount(string(k.Runes))); string(n) != string(k.Runes) {
		k.Runes = n
	}
	return k
}

// amountRunes are the keys that type an amount.
const amountRunes = "0123456789.,"

func defaultEntryKeys(p *catalog.Printer) entryKeys {
	return entryKeys{
		Digit: key.NewBinding(key.WithKeys("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ".", ","),
			key.WithHelp("0-9 .", p.T("key.amount"))),
		WeChat:    key.NewBinding(key.WithKeys("w"), key.WithHelp("w", p.T("method.wechat"))),
		Alipay:    key.NewBinding(key.WithKeys("a"), key.WithHelp("a", p.T("method.alipay"))),
		Note:      key.NewBinding(key.WithKeys("tab", "n"), key.WithHelp("tab", p.T("key.note"))),
		Today:     key.NewBinding(key.WithKeys("h"), key.WithHelp("h", p.T("key.today"))),
		Backspace: key.NewBinding(key.WithKeys("backspace"), key.WithHelp("⌫", p.T("key.delete"))),
		Clear:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", p.T("key.clear"))),
		Refresh:   key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", p.T("key.refresh"))),
		Manager:   key.NewBinding(key.WithKeys("m"), key.WithHelp("m", p.T("key.manager"))),
		Operator:  key.NewBinding(key.WithKeys("o"), key.WithHelp("o", p.T("key.operator"))),
		Code:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", p.T("key.payment_code"))),
		CodeDigits: key.NewBinding(key.WithKeys("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"),
			key.WithHelp("0-9", p.T("key.payment_code"))),
		Charge: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", p.T("key.charge_code"))),
		Back:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", p.T("key.back"))),
	}
}

type noteKeys struct {
	Done   key.Binding
	Cancel key.Binding
}

func defaultNoteKeys(p *catalog.Printer) noteKeys {
	return noteKeys{
		Done:   key.NewBinding(key.WithKeys("enter", "tab"), key.WithHelp("enter", p.T("key.done"))),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", p.T("key.discard_note"))),
	}
}

type waitingKeys struct {
	Cancel key.Binding
}

func defaultWaitingKeys(p *catalog.Printer) waitingKeys {
	return waitingKeys{
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", p.T("key.cancel_sale"))),
	}
}

type resultKeys struct {
	Next key.Binding
}

func defaultResultKeys(p *catalog.Printer) resultKeys {
	return resultKeys{
		Next: key.NewBinding(key.WithKeys("enter", " ", "esc", "n"), key.WithHelp("enter", p.T("key.next_sale"))),
	}
}

type problemKeys struct {
	Retry   key.Binding
	Abandon key.Binding
}

func defaultProblemKeys(p *catalog.Printer) problemKeys {
	return problemKeys{
		Retry:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", p.T("key.retry"))),
		Abandon: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", p.T("key.give_up"))),
	}
}

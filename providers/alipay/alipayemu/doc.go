// Package alipayemu is a loopback emulator of the Alipay OpenAPI gateway,
// good enough that the unmodified github.com/smartwalle/alipay/v3 SDK
// talks to it end to end. It exists so that till's Alipay adapter is tested
// through the real SDK, with real signatures, codes and sub_codes, and so
// that the sandbox (no merchant account configured) shows the whole flow.
//
// # Protocol
//
// One route, POST /gateway.do, takes the SDK's form. The emulator checks
// app_id, the RSA2 signature over the sorted k=v string (official rule:
// sign dropped, empty values dropped, raw values), charset, sign_type,
// format, version and timestamp, then dispatches on method:
//
//	alipay.trade.precreate            QR order; no trade exists until the scan;
//	                                  the code lives qr_code_timeout_express
//	alipay.trade.query                ACQ.TRADE_NOT_EXIST before the scan
//	alipay.trade.cancel               action=close if unpaid, action=refund if paid
//	alipay.trade.close                WAIT_BUYER_PAY only
//	alipay.trade.refund               keyed by (trade, out_request_no)
//	alipay.trade.fastpay.refund.query refund_status=REFUND_SUCCESS or absent
//	alipay.trade.pay                  payment code (bar_code): the test codes decide
//	alipay.data.dataservice.bill.downloadurl.query
//	                                  trade bill: a link to GET /bill/download, a zip of GBK CSVs
//
// Every answer is built byte by byte as {"<method>_response":<biz>,"sign":"…"}
// and signed over the exact biz bytes (slashes escaped as Alipay does), which
// is what the SDK verifies. A wrong app_id is answered unsigned, as the
// gateway cannot know whose key to use.
//
// # Payer pages
//
// A precreate's qr_code is <PayerBase>/qr/<token>. GET shows the amount,
// subject and order number with Pay and Decline buttons and counts as the
// scan (the trade becomes WAIT_BUYER_PAY); POST action=pay pays it,
// action=decline leaves it waiting and payable. Paying (or declining) a
// closed, expired or paid trade is refused with 409. The page is
// providers/payerpage, the same as the WeChat Pay emulator's: HTML to a
// browser, JSON to Accept: application/json, two lines of text to curl,
// in Chinese or English (Accept-Language, else Config.Lang).
//
// # Notifications
//
// Pay, refund and close send a signed form POST (B8 of protocols.md: only
// non-empty fields, sorted k=v without sign and sign_type, sign_type=RSA2)
// to the notify_url, retried on the real schedule (4m, 10m, 10m, 1h, 2h,
// 6h, 15h) scaled by Config.NotifyRetryUnit until the body is exactly
// "success". Close stops the retries.
//
// # Faults
//
// SetFaults switches on latency, HTTP 5xx, connection resets, malformed
// bodies, bad response signatures, 20000 and ACQ.SYSTEM_ERROR, for all
// methods or one, for a number of requests. By default the request is
// carried out first and only the answer is lost or damaged: the case where
// the caller must settle the outcome by query.
//
// Where the docs are silent the emulator takes the answer worst for the
// merchant, so that till's safety never rests on a guess: cancel or close
// of a precreated, never-scanned trade answers ACQ.TRADE_NOT_EXIST and
// locks nothing, so the code stays payable until its QR expiry
// (qr_code_timeout_express from the precreate, else DefaultExpiry);
// time_expire does not limit a precreate (whether Alipay honours it there
// is unconfirmed), so a scanned trade lives by timeout_express from the
// scan, else DefaultExpiry. A change the emulator cannot save is not
// answered as done: the gateway answers 20000 (outcome unknown) and the
// payer page refuses the payment. trade.pay decides what the customer does
// from the test codes in codepay.go (pays at once, confirms ConfirmDelay
// later by the emulator's clock, never confirms, insufficient balance,
// expired code); any other valid code pays at once, one ending in 0003
// waits for Pay. A payment-code trade keeps the code's last four digits,
// never the code.
package alipayemu

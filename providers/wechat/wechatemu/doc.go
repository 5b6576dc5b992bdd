// Package wechatemu is a loopback emulator of the WeChat Pay API v3, good
// enough that the unmodified wechatpay-go SDK (and so till's adapter in
// providers/wechat) talks to it as to the real service.
//
// # Why it exists
//
// till must be testable, and usable as a demo, without a merchant account.
// Tests drive every path of the adapter through the real SDK against this
// emulator, and the sandbox (no [wechat] section in the config) runs it
// in-process so that a new user sees the whole flow: the QR code holds the
// URL of the emulator's payer page, the "customer" opens it and presses Pay,
// and till's poll finds the trade paid.
//
// # What it does like the real service
//
//   - Verifies the merchant's Authorization header on every /v3 request
//     (SHA256withRSA over METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n with the
//     merchant's public key) and refuses a wrong signature, a wrong mchid or
//     serial, and a timestamp more than 5 minutes off with 401 SIGN_ERROR.
//   - Signs every answer as the platform in public-key mode
//     (Wechatpay-Serial/-Timestamp/-Nonce/-Signature), 204 included.
//   - Native prepay, query by out_trade_no or transaction_id, close, refund,
//     refund query, with the real status codes and {"code","message"} bodies:
//     closing a paid trade is 403 ORDERPAID, refunding more than is left is
//     400 INVALID_REQUEST (403 NOT_ENOUGH is the merchant's balance), the same out_trade_no with other parameters is 403
//     OUT_TRADE_NO_USED, an unpaid trade past time_expire reads CLOSED.
//   - Sends TRANSACTION.SUCCESS and REFUND.* notifications to notify_url,
//     signed and AES-256-GCM encrypted with the APIv3 key, and retries them
//     on the real schedule (15s, 15s, 30s, 3m, ... about 24 h), compressed
//     by Config.NotifyRetryUnit for tests.
//
// # Routes
//
//	POST /v3/pay/transactions/native
//	GET  /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=
//	GET  /v3/pay/transactions/id/{transaction_id}?mchid=
//	POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close
//	POST /v3/pay/transactions/codepay                 payment code: the customer's behaviour is set by the test codes (codepay.go)
//	POST /v3/pay/transactions/out-trade-no/{out_trade_no}/reverse   USERPAYING -> REVOKED; SUCCESS -> REVOKED, money back
//	POST /v3/refund/domestic/refunds
//	GET  /v3/refund/domestic/refunds/{out_refund_no}
//	GET  /v3/bill/tradebill?bill_date=&bill_type=   ALL, SUCCESS or REFUND, from the emulator's records (code trades MICROPAY; a reverse that gave money back a REVOKED row)
//	GET  /v3/billdownload/file?token=                the file, signed request, unsigned answer
//	GET  /pay/{token}   payer page: amount, description, order number, Pay / Decline
//	POST /pay/{token}   form action=pay pays; action=decline leaves it NOTPAY and payable
//
// The payer page is providers/payerpage, the same as the Alipay
// emulator's: HTML to a browser, JSON to Accept: application/json, two
// lines of text to curl, in Chinese or English (Accept-Language, else
// Config.Lang), with the same status codes (409 for a closed or paid
// trade, 500 when the Store could not keep the payment).
//
// code_url is an http URL of the payer page (Config.PayerBase + /pay/token),
// not weixin://, so a phone camera or curl can open it.
//
// # Where it differs
//
// notify_url may be empty (no notifications) and may be plain http; refunds
// settle PROCESSING -> SUCCESS after Config.RefundDelay; a refund without a
// notify_url notifies the trade's notify_url (standing in for the URL set on
// the merchant platform); pending notifications are not persisted across a
// restart; today's bill is served (the records so far), where WeChat
// makes a day's bill the next morning. TamperTrade, TamperRefund,
// AddForeignTrade and AddForeignRefund change the records behind the
// API's back, for tests of reconciliation. Fault switches (SetFaults) add
// latency, 5xx and other error answers, dropped connections, malformed
// bodies and bad signatures.
package wechatemu

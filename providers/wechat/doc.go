// Package wechat adapts WeChat Pay API v3 Native payments, through the
// official SDK github.com/wechatpay-apiv3/wechatpay-go, to
// checkout.Provider, and verifies WeChat's notifications for the webhook.
//
// # Why it exists
//
// checkout speaks of orders, money in fen and a few definite error kinds;
// WeChat speaks of out_trade_no, trade_state, signed headers and
// {"code","message"} bodies. This package is the one place that translates,
// so that the engine never sees an SDK type and never mistakes a lost
// answer for a refusal.
//
// # Basics
//
//   - Config is the [wechat] section; Config.Load reads and checks every
//     key file at startup and names the TOML field of each problem.
//     Credentials (Load's result, or built in memory by the sandbox) never
//     print their secrets.
//   - New builds the Provider. Requests go to Credentials.APIBase: the SDK
//     hard-codes https://api.mch.weixin.qq.com, so the HTTP client's
//     transport rewrites scheme and host (the signature covers only path and
//     query). The default client has a 5 s connect and a 15 s overall
//     timeout.
//   - Responses are verified in public-key mode (platform_public_key_id +
//     platform_public_key_file) or certificate mode (platform_cert_file).
//
// # Amounts
//
// checkout.Money is int64 fen and so is every WeChat amount: no conversion,
// no floating point. time_expire is sent as whole seconds in +08:00.
// attach carries "terminal=<id>".
//
// # Errors
//
// classify (errors.go) is the only mapping. A 4xx answer with WeChat's
// error body is definite: SIGN_ERROR, APPID_MCHID_NOT_MATCH, MCH_NOT_EXISTS,
// NO_AUTH are KindAuth; ORDERPAID KindAlreadyPaid; ORDER_CLOSED KindClosed;
// ORDER_NOT_EXIST and RESOURCE_NOT_EXISTS KindNotFound; NOT_ENOUGH
// KindInsufficient; PARAM_ERROR, INVALID_REQUEST, OUT_TRADE_NO_USED and any
// other 4xx code KindRefused. Everything else is KindUnknown: timeouts,
// resets, 5xx, 429, SYSTEM_ERROR, BANK_ERROR, FREQUENCY_LIMITED, a 4xx
// without WeChat's body, and a 2xx the SDK refuses (bad signature, stale
// timestamp, unreadable body). The engine settles unknown outcomes by query
// with the same number; it never treats them as failures.
//
// Query maps trade_state: SUCCESS and REFUND are paid; NOTPAY, USERPAYING
// and ACCEPT not paid; CLOSED closed; REVOKED closed, or refunded when it
// carries a success_time (a paid code trade a reverse gave back);
// PAYERROR failed; ORDER_NOT_EXIST is TradeNotFound (not an error). Close
// maps ORDERPAID to CloseWasPaid.
//
// Payment codes (codepay.go): PayCode posts /v3/pay/transactions/codepay
// and Reverse .../{no}/reverse through the core client (no SDK service).
// USERPAYING (a 202 answer or the error code) is not paid yet; NOT_ENOUGH
// is KindInsufficient; AUTHCODEEXPIRE, AUTH_CODE_INVALID and PARAM_ERROR
// are KindRefused with a message for the clerk. The customer's code is
// never logged and is scrubbed from every error. Refunds: PROCESSING and ABNORMAL (manual handling on the
// merchant platform) are requested, SUCCESS succeeded, CLOSED failed.
//
// # Notifications
//
// Notifier.Parse (also Provider.ParseNotification) refuses a timestamp 5
// minutes or more off, verifies the platform signature with the SDK's
// notify handler, decrypts the AES-256-GCM resource with the APIv3 key and
// returns *PaymentEvent or *RefundEvent. It does not compare amounts or
// app ids with the ledger: the webhook does.
//
// # Trade bills
//
// Provider.Bill (checkout.Biller) applies for the day's ALL bill (signed,
// verified), downloads it with a client that signs but does not verify
// (WeChat does not sign files), and refuses it unless its SHA-1 is the
// one announced. ParseBill reads the CSV by column name; only succeeded
// refunds are listed, and a REVOKED row that gives a payment-code
// payment back is one, under its order's number (the number the engine
// records a provider's own refund under). NO_STATEMENT_EXIST and
// STATEMENT_CREATING are checkout.ErrBillNotReady.
//
// # Caveats
//
// WeChat requires notify_url on every order; without a webhook, till sends
// Config.NotifyURL, or an empty string that the real service will refuse.
// RefundRequest carries no notify URL, so refunds use Config.NotifyURL.
// The emulator in wechatemu plays the other side for tests and the sandbox.
package wechat

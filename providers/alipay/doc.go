// Package alipay adapts Alipay's OpenAPI (face-to-face QR payments) to
// checkout.Provider, on the github.com/smartwalle/alipay/v3 SDK. It exists
// so that the engine never sees Alipay's yuan strings, codes or signatures:
// only fen, typed states and classified errors.
//
// # Calls
//
//	Create      alipay.trade.precreate  total_amount = Money.String() ("12.30"), time_expire in Beijing time,
//	                                    qr_code_timeout_express = the sale's timeout in whole minutes
//	Query       alipay.trade.query      ACQ.TRADE_NOT_EXIST (not scanned yet) is TradeNotFound, not an error;
//	                                    an answer about another out_trade_no is not believed
//	Close       alipay.trade.close      closed -> CloseClosed; ACQ.TRADE_STATUS_ERROR (paid, or closed
//	                                    already) -> CloseWasPaid, settled by the engine's query;
//	                                    ACQ.TRADE_NOT_EXIST (not scanned) -> KindNotFound
//
// Close never sends alipay.trade.cancel: cancel refunds a paid trade, so a
// customer who paid at the last second would get the money back. The
// payment-code flow, where cancel is the documented way to end a trade
// whose outcome is unknown, is another matter.
//
//	Refund      alipay.trade.refund     out_request_no = RefundNo, so retries and partial refunds are idempotent
//	QueryRefund alipay.trade.fastpay.refund.query
//	Bill        alipay.data.dataservice.bill.downloadurl.query, then a plain GET of the zip;
//	            isp.bill_not_exist (BILL_NOT_EXIST) -> checkout.ErrBillNotReady
//
// ParseBill finds the zip's …_业务明细.csv (GBK names, no UTF-8 flag) and
// ParseBillDetail reads it by column name: 交易 rows are trades, 退款 rows
// refunds, their negative amounts made positive, under their request
// number, else their order's (a cancel's refund).
//
// Amounts are parsed from yuan strings to fen exactly (parseYuan); there is
// no float anywhere.
//
// # Errors
//
// classify is the one place where SDK results become errors. A signed
// 10000 is success. Transport errors, 20000, ACQ.SYSTEM_ERROR, isp.*
// sub_codes, unsigned or badly signed answers and unreadable bodies are
// outcome unknown (a *checkout.ProviderError of KindUnknown): the engine
// settles them by query with the same number. 40002 signature and app_id
// faults are KindAuth; other 4000x answers are definite kinds. The SDK
// returns a signed business failure with err == nil, so every call checks
// the code.
//
// # Time
//
// Alipay reads every time as Beijing time. The SDK stamps requests with
// time.Local unless told otherwise, so New always passes
// WithTimeLocation(Asia/Shanghai); time/tzdata is linked in so the zone
// loads on machines without zoneinfo.
//
// # Notifications
//
// ParseNotification verifies the form POST with the SDK (RSA2 over the
// sorted fields, with the Alipay public key or certificate) and then checks
// app_id, which the SDK does not. The webhook compares the amount with the
// ledger.
package alipay

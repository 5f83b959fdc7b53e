/*
 * proto.h - the conversations between postern's processes.
 *
 * Every one is lib/rec records (name=value lines, empty line) and rec
 * chunks for content. Attributes that follow a "rcpt" belong to that
 * recipient until the next "rcpt". Socket paths are relative to
 * queue_directory, the working directory of every daemon.
 *
 * cleanup/1 (smtpd, pickup, local -> cleanup on PROTO_CLEANUP_PATH)
 *   request:  proto=cleanup/1, origin=smtpd|pickup|local, sender,
 *             [client_name, client_addr, client_port, helo, protocol,
 *             tls, sasl_user, sasl_sender (MAIL's AUTH=,
 *             decoded), sasl_header=1 (name sasl_user in Received), ret,
 *             envid, body, smtputf8, uid,
 *             extract_recipients=1 (sendmail -t), local_submit=1 (add
 *             missing From/Date/Message-ID), full_name],
 *             rcpt (each with [orcpt, notify])
 *             protocol is SMTP, ESMTP, or with TLS and AUTH ESMTPS,
 *             ESMTPA, ESMTPSA (RFC 3848); tls, from smtpd over TLS with
 *             smtpd_tls_received_header=yes, is "TLSv1.3 with cipher
 *             TLS_AES_256_GCM_SHA384 (256/256 bits)" and goes into the
 *             Received: header as "(using ...)".
 *   then the content as chunks (LF line endings, dot unstuffed), ended
 *   by a 0 chunk; the client need not wait for reply 1 before it sends
 *   them. The client closes the connection to abort: cleanup then
 *   removes the file and nothing is queued.
 *   reply 1:  proto=cleanup/1, status=ok, qid=ID | status=CODE, dsn, text
 *             sent once the file exists, at the latest when cleanup
 *             waits for content, else together with reply 2
 *   reply 2:  proto=cleanup/1, status=ok, qid=ID (the file is in
 *             incoming/, fsynced) | status=CODE (451, 550, 552, 554),
 *             dsn=X.Y.Z, text=... for the client.
 *   After reply 2 the client may send another request on the same
 *   connection; cleanup may end it instead of reading one (idle, reload,
 *   stopping, a changed table). It then shuts its reading side before it
 *   closes and serves a request that had already arrived, so a client
 *   whose first send of a request fails (EPIPE) knows that none of it
 *   was taken and sends it again on a new connection; any other failure
 *   is final. A refused request (reply 1 not ok) ends the connection.
 *   Clients keep an idle connection for $ipc_idle and close it after the
 *   reply that finds it $ipc_ttl old, since the server counts
 *   connections toward max_use, not requests.
 *
 * qmgr/1 (postern -> qmgr on PROTO_QMGR_PATH; qmgr learns of cleanup's
 *   commits from the file system, through inotify; the wakeup record
 *   also wakes pickup)
 *   request:  proto=qmgr/1, request=wakeup | flush [domain] |
 *             hold|release|delete|requeue [qid=ID|ALL] | list
 *   reply:    proto=qmgr/1, status=ok | status=CODE, text
 *   list (`postern queue list`/mailq for users who may not read the
 *   queue directories; Postfix's showq): the reply is one record per
 *   queued message, in queue ID (arrival) order,
 *             proto=qmgr/1, qid=ID, queue=incoming|active|deferred|hold,
 *             size=N (content bytes), arrival=UNIX_SECONDS, sender
 *             (empty: the null sender), then per pending recipient
 *             rcpt=ADDRESS and, when log/QID has one, reason=TEXT right
 *             after it; omitted=N when N more pending recipients did
 *             not fit in one record
 *   then the end record, the only one with a status:
 *             proto=qmgr/1, status=ok, count=N (message records sent),
 *             [truncated=1: qmgr lists at most 100000 messages]
 *   A client reads records until one has a status. Nothing about the
 *   content is sent; messages that leave the queue meanwhile are left
 *   out.
 *
 * delivery/1 (qmgr -> local, virtual, smtp, lmtp, on
 *             private/TRANSPORT)
 *   request:  proto=delivery/1, qid, queue_file=active/ID, sender,
 *             nexthop, then per recipient: rcpt=ADDRESS, index=N (its
 *             position in the queue file), [orcpt, notify]
 *   reply:    proto=delivery/1, then per recipient in the same order:
 *             rcpt=ADDRESS, index=N, status=sent|deferred|bounced,
 *             dsn=X.Y.Z, reason=TEXT (what the recipient's server or our
 *             check said; shown in `queue list` and bounces)
 *   The agent never changes the queue file; qmgr marks recipients done.
 *   After a reply qmgr may send another request on the same connection,
 *   as smtpd does with cleanup/1; the agent may close it instead of
 *   reading one, so qmgr sends a request that saw no reply on a reused
 *   connection once more, on a new one.
 *
 * bounce/1 (qmgr -> bounce on PROTO_BOUNCE_PATH)
 *   request:  proto=bounce/1, request=flush|warn, qid,
 *             queue_file=active/QID | deferred/QID
 *   bounce reads the queue file and log/QID (qmgr's per-recipient
 *   records: rcpt, index, status, dsn, reason, relay, time), builds an
 *   RFC 3464 notification (flush: the "bounced" records, Action: failed;
 *   warn: the "deferred" records, Action: delayed) and submits it to
 *   cleanup (origin=bounce, the null sender, to the original sender; a
 *   message from the null sender is reported to
 *   $2bounce_notice_recipient instead, from $double_bounce_sender).
 *   reply:    proto=bounce/1, status=ok, qid=NEWQID (the notice is
 *             queued) | status=ok without qid (nothing to send: NOTIFY,
 *             a double bounce, no matching record) | status=451,
 *             text=... (nothing queued: try again later)
 *   bounce never changes or removes the queue file or log/QID.
 *
 * sasl/1 (smtpd -> sasl on PROTO_SASL_PATH; smtpd_sasl_type = cyrus)
 *   request:  proto=sasl/1, app (smtpd_sasl_path: libsasl2's application
 *             name, so APP.conf in cyrus_sasl_config_path), service=smtp,
 *             mechanism=PLAIN|LOGIN (for the log), [client_addr,
 *             local_addr], user, password
 *   reply:    proto=sasl/1, status=ok, user=NAME (canonical) |
 *             status=fail, reason=TEXT (wrong name or password) |
 *             status=temp, reason=TEXT (backend unavailable: 454)
 *   One check per connection. The password is never logged by either
 *   side.
 *
 * anvil/1 (smtpd -> anvil on PROTO_ANVIL_PATH; Postfix's anvil(8))
 *   request:  proto=anvil/1, request=connect|disconnect|message|rcpt|
 *             auth|auth_fail|newtls|lookup, service=NAME (the master.cf
 *             service), ident=CLIENT_ADDRESS
 *   reply:    proto=anvil/1, status=ok, count=N (sessions open now),
 *             rate=N (connections), message=N (MAIL commands), rcpt=N,
 *             auth=N (AUTH commands), newtls=N (new TLS sessions), each
 *             in the current $anvil_rate_time_unit window, and
 *             auth_fail=N (failed AUTH commands not yet forgotten), all
 *             after this request | status=error, text (a bad request)
 *   One connection carries any number of requests; replies come in
 *   request order. disconnect and auth_fail are answered too. lookup
 *   changes nothing. A client that cannot reach anvil applies no limits.
 */
#ifndef POSTERN_PROTO_H
#define POSTERN_PROTO_H

#define PROTO_CLEANUP_PATH	"private/cleanup"
#define PROTO_QMGR_PATH		"public/qmgr"
#define PROTO_PICKUP_PATH	"public/pickup"
#define PROTO_BOUNCE_PATH	"private/bounce"
#define PROTO_SASL_PATH		"private/sasl"
#define PROTO_ANVIL_PATH	"private/anvil"

#define PROTO_CLEANUP	"cleanup/1"
#define PROTO_QMGR	"qmgr/1"
#define PROTO_DELIVERY	"delivery/1"
#define PROTO_BOUNCE	"bounce/1"
#define PROTO_SASL	"sasl/1"
#define PROTO_ANVIL	"anvil/1"

#endif

using System.Globalization;
using System.Text;
using Akka.Actor;
using Microsoft.AspNetCore.Http;
using Prox.Actors.Config;
using Prox.Actors.Dedup;
using Prox.Actors.Routing;
using Prox.Http.Forwarding;

namespace Prox.Http.Dedup;

/// <summary>
/// The request path of a dedup route. The <see cref="RouteActor"/> decides who leads (ARCHITECTURE principle 2):
/// the leader is forwarded on a detached context (<see cref="DetachedContext"/>) so its own client leaving does not
/// end the backend exchange its followers wait on, and its response is teed (<see cref="LeaderTee"/>) to its client
/// and into a buffer the followers are answered from.
/// </summary>
internal static class Coalescing
{
    public const string Header = "X-Coalesced";

    /// <summary>How long a request waits for the route actor's decision. One that does not answer (restarting)
    /// costs the request this much, never its success: it is then forwarded on its own.</summary>
    internal static readonly TimeSpan DecisionTimeout = TimeSpan.FromMilliseconds(500);

    /// <summary>Whether this request may coalesce at all: a dedup method, no body, no upgrade, and no credentials
    /// unless they are part of the key (one user's response must never reach another).</summary>
    public static bool Applies(DedupConfig dedup, HttpRequest req)
    {
        var method = req.Method;
        var headers = req.Headers;
        if (dedup.Post && HttpMethods.IsPost(method))
        {
            // the body is buffered to be hashed: only a declared length within max-body
            return req.ContentLength is { } length && length <= dedup.MaxBody
                && !headers.ContainsKey("Transfer-Encoding") && !headers.ContainsKey("Upgrade") && NoForeignCredentials(dedup, headers);
        }
        var allowed = false;
        foreach (var m in dedup.Methods)
        {
            if (string.Equals(m, method, StringComparison.OrdinalIgnoreCase))
            {
                allowed = true;
                break;
            }
        }
        if (!allowed) return false;
        if (req.ContentLength > 0 || headers.ContainsKey("Transfer-Encoding") || headers.ContainsKey("Upgrade")) return false;
        return NoForeignCredentials(dedup, headers);
    }

    private static bool NoForeignCredentials(DedupConfig dedup, IHeaderDictionary headers) =>
        (!headers.ContainsKey("Authorization") || KeyHas(dedup, "Authorization"))
        && (!headers.ContainsKey("Cookie") || KeyHas(dedup, "Cookie"));

    private static bool KeyHas(DedupConfig dedup, string header)
    {
        foreach (var h in dedup.Headers)
            if (string.Equals(h, header, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>The coalescing key. Every part is length-prefixed, so no path, query or header value can be made to
    /// read as another request's key. The method is always part of it: a HEAD must never get a GET's body.</summary>
    /// <param name="body">A POST's buffered body, whose SHA-256 joins the key.</param>
    internal static string Key(DedupConfig dedup, HttpRequest req, byte[]? body = null)
    {
        var sb = new StringBuilder(128);
        Part(sb, req.Method.ToUpperInvariant());
        if ((dedup.Key & DedupKeyParts.Host) != 0) Part(sb, (req.Host.Value ?? "").ToLowerInvariant());
        if ((dedup.Key & DedupKeyParts.Path) != 0) Part(sb, req.Path.Value ?? "");
        if ((dedup.Key & DedupKeyParts.Query) != 0) Part(sb, req.QueryString.Value ?? "");
        foreach (var name in dedup.Headers)
        {
            // an absent header and an empty one are different requests
            if (req.Headers.TryGetValue(name, out var values))
                Part(sb, string.Join("\n", values.ToArray()));
            else
                sb.Append('-');
        }
        if (body is not null) Part(sb, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(body)));
        return sb.ToString();

        static void Part(StringBuilder sb, string value) =>
            sb.Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(value);
    }

    public static async Task InvokeAsync(ProxyHandler handler, HttpContext ctx, RouteSnapshot snap, DedupConfig dedup,
        string prefix, string requestId, bool trusted)
    {
        byte[]? body = null;
        if (HttpMethods.IsPost(ctx.Request.Method))
        {
            body = new byte[(int)ctx.Request.ContentLength!.Value];
            try
            {
                await ctx.Request.Body.ReadExactlyAsync(body, ctx.RequestAborted);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException && ctx.RequestAborted.IsCancellationRequested)
            {
                return; // the client left while sending its body
            }
            // whoever forwards this request (leader, follower on its own way) sends the buffered copy
            ctx.Request.Body = new MemoryStream(body, writable: false);
        }

        CoalesceDecision decision;
        try
        {
            decision = await snap.RouteActor.Ask<CoalesceDecision>(new JoinOrLead(Key(dedup, ctx.Request, body)), DecisionTimeout, ctx.RequestAborted);
        }
        catch (AskTimeoutException)
        {
            decision = CoalesceDecision.NotCoalesced; // the route actor is restarting: forward on our own
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            return; // the client left while we asked
        }

        if (decision.Entry is not { } entry)
            await ForwardOnOwnAsync(handler, ctx, snap, prefix, requestId, trusted);
        else if (decision.Leads)
            await LeadAsync(handler, ctx, snap, entry, dedup, body, prefix, requestId, trusted);
        else
            await FollowAsync(handler, ctx, snap, entry, dedup, prefix, requestId, trusted);
    }

    private static async Task ForwardOnOwnAsync(ProxyHandler handler, HttpContext ctx, RouteSnapshot snap, string prefix, string requestId, bool trusted)
    {
        var result = await handler.ForwardAsync(ctx, snap, prefix, requestId, trusted);
        if (result.IsProxFailure)
            await ProxyHandler.WriteFailureAsync(ctx, snap, result, requestId);
    }

    private static async Task LeadAsync(ProxyHandler handler, HttpContext ctx, RouteSnapshot snap, Coalescer entry,
        DedupConfig dedup, byte[]? body, string prefix, string requestId, bool trusted)
    {
        var tee = new LeaderTee(ctx, entry, dedup.MaxBody, HttpMethods.IsHead(ctx.Request.Method));
        var detached = DetachedContext.Create(ctx, tee, body, out var lifetime);
        tee.Source = detached.Response;
        try
        {
            var result = await handler.ForwardAsync(detached, snap, prefix, requestId, trusted);
            if (lifetime.Aborted || (result.Failure != ProxyHandler.Failure.None && tee.Started))
            {
                // the backend broke off mid-response: the leader's client has a truncated body, nobody gets a copy
                entry.Release();
                ctx.Abort();
                return;
            }
            if (result.Failure == ProxyHandler.Failure.None)
            {
                await tee.FinishAsync(); // headers of a bodiless response; the shared copy
                return;
            }
            if (!result.IsProxFailure)
            {
                entry.Release(); // the leader gave up (its client left and nobody followed): followers try themselves
                return;
            }
            // the route already spent its retries on this: followers get the same answer rather than repeat it
            entry.Share(new SharedResponse(0, [], ReadOnlyMemory<byte>.Empty) { Failure = (int)result.Failure, HeldBackStatus = result.HeldBack });
            if (!ctx.RequestAborted.IsCancellationRequested)
                await ProxyHandler.WriteFailureAsync(ctx, snap, result, requestId, "leader");
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // the leader's client left while its answer was written; the followers have theirs
        }
        finally
        {
            entry.Release(); // no-op when shared; an exception must not leave followers waiting out the window
            snap.RouteActor.Tell(new LeaderDone(entry), ActorRefs.NoSender);
        }
    }

    private static async Task FollowAsync(ProxyHandler handler, HttpContext ctx, RouteSnapshot snap, Coalescer entry,
        DedupConfig dedup, string prefix, string requestId, bool trusted)
    {
        SharedResponse? shared;
        try
        {
            shared = await entry.Outcome.WaitAsync(dedup.Window, ctx.RequestAborted);
        }
        catch (TimeoutException)
        {
            shared = null; // the leader is slower than the window: stop waiting, go our own way
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            return; // this follower's client left; the leader and the other followers carry on
        }

        if (shared is null)
        {
            snap.RouteActor.Tell(FollowerWentOwnWay.Instance, ActorRefs.NoSender);
            await ForwardOnOwnAsync(handler, ctx, snap, prefix, requestId, trusted);
            return;
        }

        if (shared.Failure != 0)
        {
            await ProxyHandler.WriteFailureAsync(ctx, snap,
                new ProxyHandler.ForwardResult((ProxyHandler.Failure)shared.Failure, shared.HeldBackStatus), requestId, "follower");
            return;
        }

        var resp = ctx.Response;
        resp.StatusCode = shared.Status;
        foreach (var (name, values) in shared.Headers)
            resp.Headers[name] = values;
        resp.Headers[RequestIds.Header] = requestId;
        resp.Headers[Header] = "follower";
        if (HttpMethods.IsHead(ctx.Request.Method)) return;
        resp.Headers.Remove("Transfer-Encoding");
        resp.ContentLength = shared.Body.Length;
        try
        {
            await resp.Body.WriteAsync(shared.Body, ctx.RequestAborted);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // this follower's client left mid-body; nothing to do
        }
    }
}

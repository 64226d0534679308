using System.Globalization;
using System.Text;
using Akka.Actor;
using Microsoft.AspNetCore.Http;
using Prox.Actors.Config;
using Prox.Actors.Dedup;
using Prox.Actors.Routing;
using Prox.Http.Forwarding;
using Prox.Http.Pipeline;

namespace Prox.Http.Dedup;

/// <summary>
/// Request coalescing on a dedup route, used by the dedup stage and by the cache for a plain miss. The
/// <see cref="RouteActor"/> decides who leads: the leader is forwarded by the <see cref="Forwarder"/> on a detached
/// context (<see cref="DetachedContext"/>) so its own client leaving does not end the backend exchange its followers
/// wait on, and its response is teed (<see cref="LeaderTee"/>) to its client and into a buffer the followers are
/// answered from.
/// </summary>
public sealed class Coalescing(Forwarder forwarder)
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

    /// <summary>Serves <paramref name="ctx"/>'s request as a leader, a follower or on its own, as the route actor
    /// decides; answers every failure itself.</summary>
    public async Task InvokeAsync(ProxyContext ctx, DedupConfig dedup)
    {
        var http = ctx.Http;
        byte[]? body = null;
        if (HttpMethods.IsPost(http.Request.Method))
        {
            body = new byte[(int)http.Request.ContentLength!.Value];
            try
            {
                await http.Request.Body.ReadExactlyAsync(body, http.RequestAborted);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException && http.RequestAborted.IsCancellationRequested)
            {
                return; // the client left while sending its body
            }
            // whoever forwards this request (leader, follower on its own way) sends the buffered copy
            http.Request.Body = new MemoryStream(body, writable: false);
        }

        var snap = ctx.Snapshot;
        CoalesceDecision decision;
        try
        {
            decision = await snap.RouteActor.Ask<CoalesceDecision>(new JoinOrLead(Key(dedup, http.Request, body)), DecisionTimeout, http.RequestAborted);
        }
        catch (AskTimeoutException)
        {
            decision = CoalesceDecision.NotCoalesced; // the route actor is restarting: forward on our own
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            return; // the client left while we asked
        }

        if (decision.Entry is not { } entry)
            await ForwardOnOwnAsync(ctx);
        else if (decision.Leads)
            await LeadAsync(ctx, entry, dedup, body);
        else
            await FollowAsync(ctx, entry, dedup);
    }

    private async Task ForwardOnOwnAsync(ProxyContext ctx)
    {
        var failure = await forwarder.ForwardAsync(ctx);
        if (failure.IsProxFailure)
            await failure.WriteAsync(ctx);
    }

    private async Task LeadAsync(ProxyContext ctx, Coalescer entry, DedupConfig dedup, byte[]? body)
    {
        var http = ctx.Http;
        var snap = ctx.Snapshot;
        var tee = new LeaderTee(http, entry, dedup.MaxBody, HttpMethods.IsHead(http.Request.Method));
        var detached = DetachedContext.Create(http, tee, out var lifetime, body, started: () => tee.Started);
        tee.Source = detached.Response;
        try
        {
            var failure = await forwarder.ForwardAsync(ctx.On(detached));
            if (lifetime.Aborted || (!failure.IsNone && tee.Started))
            {
                // the backend broke off mid-response: the leader's client has a truncated body, nobody gets a copy
                entry.Release();
                http.Abort();
                return;
            }
            if (failure.IsNone)
            {
                await tee.FinishAsync(); // headers of a bodiless response; the shared copy
                return;
            }
            if (!failure.IsProxFailure)
            {
                entry.Release(); // the leader gave up (its client left and nobody followed): followers try themselves
                return;
            }
            // the route already spent its retries on this: followers get the same answer rather than repeat it
            entry.Share(new SharedResponse(0, [], ReadOnlyMemory<byte>.Empty) { Failure = failure });
            if (!http.RequestAborted.IsCancellationRequested)
                await failure.WriteAsync(ctx, (Header, "leader"));
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // the leader's client left while its answer was written; the followers have theirs
        }
        finally
        {
            entry.Release(); // no-op when shared; an exception must not leave followers waiting out the window
            snap.RouteActor.Tell(new LeaderDone(entry), ActorRefs.NoSender);
        }
    }

    private async Task FollowAsync(ProxyContext ctx, Coalescer entry, DedupConfig dedup)
    {
        var http = ctx.Http;
        SharedResponse? shared;
        try
        {
            // the leader shares only SharedResponse (or nothing: null)
            shared = (SharedResponse?)await entry.Outcome.WaitAsync(dedup.Window, http.RequestAborted);
        }
        catch (TimeoutException)
        {
            shared = null; // the leader is slower than the window: stop waiting, go our own way
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            return; // this follower's client left; the leader and the other followers carry on
        }

        if (shared is null)
        {
            ctx.Snapshot.RouteActor.Tell(FollowerWentOwnWay.Instance, ActorRefs.NoSender);
            await ForwardOnOwnAsync(ctx);
            return;
        }

        if (!shared.Failure.IsNone)
        {
            await shared.Failure.WriteAsync(ctx, (Header, "follower"));
            return;
        }

        var resp = http.Response;
        resp.StatusCode = shared.Status;
        foreach (var (name, values) in shared.Headers)
            resp.Headers[name] = values;
        resp.Headers[RequestIds.Header] = ctx.RequestId;
        resp.Headers[Header] = "follower";
        if (HttpMethods.IsHead(http.Request.Method)) return;
        resp.Headers.Remove("Transfer-Encoding");
        resp.ContentLength = shared.Body.Length;
        try
        {
            await resp.Body.WriteAsync(shared.Body, http.RequestAborted);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // this follower's client left mid-body; nothing to do
        }
    }
}

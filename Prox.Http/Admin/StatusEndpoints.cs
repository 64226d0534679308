using System.Collections.Immutable;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Prox.Actors.Backends;
using Prox.Actors.Events;
using Prox.Actors.Routing;
using Prox.Actors.Supervision;
using Prox.Actors.Webhooks;
using Prox.Http.Errors;

using Prox.Http.Cache;
using Prox.Http.Runtime;

namespace Prox.Http.Admin;

/// <summary><c>GET /healthz</c> (liveness) and <c>GET /readyz</c> (readiness), both open without a token, and
/// <c>GET /status</c> (routes, backends, cache, newest events, webhooks, process and, in a cluster, membership).</summary>
/// <param name="stopping">Cancelled when a graceful shutdown starts draining (<c>ApplicationStopping</c>).</param>
internal sealed class StatusEndpoints(ProxRuntime rt, ResponseCache responses, IConfigReloader reloader, IClusterStatus? cluster,
    Tls.CertificateStore? certificates, CancellationToken stopping)
{
    /// <summary>How long <c>/status</c> waits for the webhook Notifier: it is left out when the Notifier is restarting
    /// (its journal failed) or, in a cluster, its node is unreachable until the singleton has moved.</summary>
    private static readonly TimeSpan WebhookStatusTimeout = TimeSpan.FromSeconds(2);

    /// <summary>How many of the newest events <c>/status</c> shows.</summary>
    public const int StatusEvents = 200;

    private static readonly HealthBody Ok = new("ok");
    private static readonly HealthBody Ready = new("ready");

    public void Map(IEndpointRouteBuilder root)
    {
        root.MapMethods("/healthz", AdminEndpoints.Read, ctx => AdminEndpoints.WriteJsonAsync(ctx, Ok))
            .WithMetadata(AdminGate.OpenForReads);
        root.MapMethods("/readyz", AdminEndpoints.Read, ReadyzAsync).WithMetadata(AdminGate.OpenForReads);
        root.MapMethods("/status", AdminEndpoints.Read, StatusAsync);
    }

    /// <summary>200 while the proxy serves its routes; 503 before they are all published (the proxy answers 503 then
    /// too) and from the moment a graceful shutdown starts draining, so a load balancer stops sending new traffic
    /// while in-flight requests finish.</summary>
    private Task ReadyzAsync(HttpContext ctx)
    {
        if (stopping.IsCancellationRequested)
            return Problems.WriteAsync(ctx, StatusCodes.Status503ServiceUnavailable, "Not ready",
                "Prox is shutting down: it drains the requests in flight and takes no new ones.");
        if (!rt.Store.IsReady)
            return Problems.WriteAsync(ctx, StatusCodes.Status503ServiceUnavailable, "Not ready",
                "Prox is starting: its routes are not ready yet.", retryAfterSeconds: 1);
        return AdminEndpoints.WriteJsonAsync(ctx, Ready);
    }

    private async Task StatusAsync(HttpContext ctx)
    {
        // asked alongside the rest: in a cluster the Notifier is a singleton on another node, possibly unreachable
        var webhooksAsked = WebhookStatusAsync(ctx.RequestAborted);
        ProxStatus status;
        EventsPage events;
        try
        {
            status = await rt.Supervisor.Ask<ProxStatus>(GetProxStatus.Instance, AdminEndpoints.AskTimeout, ctx.RequestAborted);
            events = await rt.Supervisor.Ask<EventsPage>(new GetEvents(null, StatusEvents), AdminEndpoints.AskTimeout, ctx.RequestAborted);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            await Problems.WriteAsync(ctx, StatusCodes.Status503ServiceUnavailable, "Status unavailable",
                "The actor system did not answer in time.", retryAfterSeconds: 1);
            return;
        }
        var webhooks = await webhooksAsked;

        var now = DateTimeOffset.UtcNow;
        var gc = GC.GetGCMemoryInfo();
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        await AdminEndpoints.WriteJsonAsync(ctx, new StatusBody(
            AdminEndpoints.Version,
            rt.Store.StartedAt,
            Math.Round((now - rt.Store.StartedAt).TotalSeconds, 1),
            new ProcessStatus(self.WorkingSet64, gc.HeapSizeBytes, gc.TotalCommittedBytes,
                [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)],
                System.Runtime.GCSettings.IsServerGC, self.Threads.Count),
            // cluster mode only: absent (null is not written) in standalone
            cluster?.Snapshot(),
            // cluster mode only: the config version this node runs, the same on every node once a change has propagated
            cluster is null ? null : reloader.AppliedVersion,
            status.Routes.Select(r => new RouteView(r.Name, r.Policy, new RouteMatch(r.PathPrefix, r.Hosts), r.Eligible, r.Panic,
                r.SnapshotVersion, r.Backends, r.Dedup, CacheAdmin.RouteStatus(rt, responses, r.Name),
                rt.Store.Table.Slots.FirstOrDefault(s => s.RouteId == r.Name)?.WebSockets.Open ?? 0)),
            CacheAdmin.Status(responses),
            certificates?.Status(now),
            events.Events,
            webhooks?.Webhooks));
    }

    /// <summary>The Notifier's delivery state; null when it does not answer in time (the rest of /status still answers).</summary>
    private async Task<WebhookStatusReply?> WebhookStatusAsync(CancellationToken ct)
    {
        try
        {
            return await rt.Supervisor.Ask<WebhookStatusReply>(GetWebhookStatus.Instance, WebhookStatusTimeout, ct);
        }
        catch (Exception e) when (e is AskTimeoutException or OperationCanceledException)
        {
            return null; // a client gone away is answered by nobody anyway
        }
    }

    /// <summary>The body of <c>/healthz</c> and of <c>/readyz</c> when ready.</summary>
    private sealed record HealthBody(string Status);

    /// <summary>The body of <c>/status</c>; <paramref name="Cluster"/>, <paramref name="ConfigVersion"/> and
    /// <paramref name="Webhooks"/> and <paramref name="Tls"/> are left out when null.</summary>
    private sealed record StatusBody(string Version, DateTimeOffset StartedAt, double UptimeSeconds, ProcessStatus Process,
        ClusterView? Cluster, long? ConfigVersion, IEnumerable<RouteView> Routes, CacheAdmin.CacheStatus Cache,
        Tls.TlsStatus? Tls, ImmutableArray<ProxEvent> Events, ImmutableArray<WebhookStatus>? Webhooks);

    private sealed record ProcessStatus(long RssBytes, long GcHeapBytes, long GcCommittedBytes, int[] GcCollections,
        bool GcServer, int Threads);

    private sealed record RouteView(string Name, string Policy, RouteMatch Match, int Eligible, bool Panic, long SnapshotVersion,
        ImmutableArray<BackendStatus> Backends, DedupStatus? Dedup, CacheAdmin.RouteCacheStatus? Cache, int WebSockets);

    private sealed record RouteMatch(string PathPrefix, ImmutableArray<string> Hosts);
}

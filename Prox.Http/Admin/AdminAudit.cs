using System.Collections.Immutable;
using Microsoft.Extensions.Logging;

namespace Prox.Http.Admin;

/// <summary>One mutating admin request: who (token name, <c>anonymous-loopback</c> or <c>unauthenticated</c>),
/// what (method and path with query), the answer's status, where from and when.</summary>
public sealed record AuditEntry(DateTimeOffset At, string Who, string Method, string Target, int Status, string? RemoteAddress);

/// <summary>
/// The admin plane's audit trail: every mutating request, whatever its outcome, goes to the log and to an
/// in-memory ring of the newest <see cref="Capacity"/> entries (<c>GET /admin/audit</c>). A persistent store can
/// keep its own trail beside this one; this one is what the HTTP plane saw.
/// </summary>
public sealed class AdminAudit(ILogger<AdminAudit> log, TimeProvider time)
{
    public const int Capacity = 500;

    private readonly Queue<AuditEntry> _ring = new(Capacity);
    private readonly Lock _lock = new();

    public TimeProvider Time { get; } = time;

    public void Record(AuditEntry entry)
    {
        lock (_lock)
        {
            if (_ring.Count == Capacity) _ring.Dequeue();
            _ring.Enqueue(entry);
        }
        var level = entry.Status is 401 or 403 ? LogLevel.Warning : LogLevel.Information;
        log.Log(level, "Admin audit: {Who} {Method} {Target} -> {Status} from {RemoteAddress} at {At}",
            entry.Who, entry.Method, entry.Target, entry.Status, entry.RemoteAddress, entry.At);
    }

    /// <summary>The kept entries, oldest first.</summary>
    public ImmutableArray<AuditEntry> Entries()
    {
        lock (_lock) return [.. _ring];
    }
}

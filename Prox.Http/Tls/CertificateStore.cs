using System.Collections.Frozen;
using System.Net.Security;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using Prox.Actors.Config;
using Prox.Actors.Events;
using Prox.Actors.Hocon;
using Prox.Actors.Tls;

namespace Prox.Http.Tls;

/// <summary>
/// The certificates of the TLS listeners, chosen per handshake by the client's server name (SNI): an exact
/// <c>prox.tls.certificates</c> host first, then the longest matching <c>*.suffix</c>, then the listener's default.
/// The set is an immutable snapshot swapped whole: when a certificate or key file changes (checked every
/// <see cref="PollInterval"/>) or a reload brings other <c>prox.tls</c> entries, new handshakes use the new set and
/// open connections keep theirs. A set that fails to load is not used: the old one stays and the errors are logged.
/// A certificate that expires within <see cref="ExpiryWarning"/> raises one <c>certificate-expiring</c> event.
/// </summary>
public sealed class CertificateStore : IDisposable
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan ExpiryWarning = TimeSpan.FromDays(14);

    private readonly ListenerTls[] _listeners;
    private readonly string _baseDirectory;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Func<ActorSystem?> _system;
    private readonly HashSet<string> _warnedExpiring = new(StringComparer.Ordinal);
    private readonly Lock _reloadLock = new();
    private ITimer? _poll;
    private volatile CertificateSet _set = CertificateSet.Empty;
    /// <summary>Why the last load failed (empty after a successful one): shown on <c>/status</c>.</summary>
    private volatile IReadOnlyList<ConfigError> _lastErrors = [];
    /// <summary>The files as last loaded (or tried): a poll that sees them differ loads them again.</summary>
    private string _stamp = "";
    private volatile TlsConfig _tls;

    /// <param name="config">The config Prox starts with: its listeners are fixed for the process, its <c>prox.tls</c> is
    /// replaced by <see cref="Apply"/>.</param>
    /// <param name="baseDirectory">What relative file names resolve against: the config file's folder.</param>
    public CertificateStore(ProxConfig config, string baseDirectory, TimeProvider time, ILogger<CertificateStore> log,
        Func<ActorSystem?> system)
    {
        _listeners = [.. config.Listen.Select(l => l.Tls).OfType<ListenerTls>()];
        _baseDirectory = baseDirectory;
        _time = time;
        _log = log;
        _system = system;
        _tls = config.Tls;
    }

    /// <summary>True when any listener has TLS (otherwise nothing is loaded or polled).</summary>
    public bool Enabled => _listeners.Length > 0;

    /// <summary>The TLS versions a handshake may use now (<c>prox.tls.min-version</c>, reloadable).</summary>
    public System.Security.Authentication.SslProtocols Protocols => _tls.Protocols;

    /// <summary>Loads the files; the errors when any certificate is unusable (then nothing changes). Start-up fails on them.</summary>
    public List<ConfigError> Load()
    {
        lock (_reloadLock)
        {
            return LoadLocked(_tls, "start");
        }
    }

    /// <summary>Starts watching the files and the expiry dates (once the actor system is up: the expiry warning is an
    /// event).</summary>
    public void StartPolling()
    {
        if (!Enabled) return;
        lock (_reloadLock)
        {
            WarnExpiring(_set.All, _time.GetUtcNow());
        }
        _poll ??= _time.CreateTimer(_ => Poll(), null, PollInterval, PollInterval);
    }

    /// <summary>A config was applied (reload, SIGHUP, admin API): loads its <c>prox.tls</c> and the files anew.</summary>
    public void Apply(ProxConfig next)
    {
        if (!Enabled) return;
        lock (_reloadLock)
        {
            var errors = LoadLocked(next.Tls, "reload");
            if (errors.Count == 0) _tls = next.Tls;
        }
    }

    /// <summary>The certificate for a handshake on the listener with <paramref name="listener"/>'s TLS block.</summary>
    public SslStreamCertificateContext? Select(ListenerTls listener, string? serverName) =>
        _set.Select(listener.Path, serverName)?.Context;

    private void Poll()
    {
        try
        {
            lock (_reloadLock)
            {
                if (StampOf(_tls) != _stamp) LoadLocked(_tls, "file change");
                // a certificate in use can come within the warning while Prox runs
                else WarnExpiring(_set.All, _time.GetUtcNow());
            }
        }
        catch (Exception e)
        {
            // a timer callback must not take the process down; the next poll tries again
            _log.LogError(e, "TLS: checking the certificate files failed");
        }
    }

    private List<ConfigError> LoadLocked(TlsConfig tls, string why)
    {
        var now = _time.GetUtcNow();
        var errors = new List<ConfigError>();
        var byListener = new Dictionary<string, LoadedCertificate>(StringComparer.Ordinal);
        var exact = new Dictionary<string, LoadedCertificate>(StringComparer.Ordinal);
        var wildcards = new Dictionary<string, LoadedCertificate>(StringComparer.Ordinal);
        var (own, entries) = CertificateFiles.LoadAll(_listeners, tls, _baseDirectory, now, errors);
        foreach (var c in entries)
            foreach (var host in c.Hosts)
            {
                if (host.StartsWith("*.", StringComparison.Ordinal)) wildcards[host[1..]] = c; // ".example.com"
                else exact[host] = c;
            }
        foreach (var (listener, c) in own) byListener[listener.Path] = c;
        // a listener without its own certificate defaults to the first entry
        foreach (var listener in _listeners)
            if (listener.Certificate is null)
            {
                if (entries.Count > 0) byListener[listener.Path] = entries[0];
                else if (errors.Count == 0)
                    errors.Add(new ConfigError(listener.Path, "needs a certificate and key (PEM files) here or in prox.tls.certificates"));
            }
        List<LoadedCertificate> all = [.. own.Select(o => o.Certificate), .. entries];

        if (errors.Count > 0)
        {
            foreach (var e in errors)
                _log.LogError("TLS ({Why}): {Path}: {Message}; the certificates in use stay", why, e.Path, e.Message);
            // the failed files are watched too: fixing them loads the set
            _stamp = StampOf(tls);
            _lastErrors = errors;
            return errors;
        }

        _set = new CertificateSet(byListener.ToFrozenDictionary(StringComparer.Ordinal), exact.ToFrozenDictionary(StringComparer.Ordinal),
            [.. wildcards.OrderByDescending(w => w.Key.Length)], all);
        _stamp = StampOf(tls);
        _lastErrors = [];
        if (why == "start") return errors; // warned once the actor system is up (StartPolling)
        _log.LogInformation("TLS ({Why}): {Count} certificates loaded; new handshakes use them", why, all.Count);
        WarnExpiring(all, now);
        return errors;
    }

    private void WarnExpiring(List<LoadedCertificate> all, DateTimeOffset now)
    {
        foreach (var c in all)
        {
            var left = c.NotAfter - now;
            if (left > ExpiryWarning || !_warnedExpiring.Add(c.Leaf.Thumbprint)) continue;
            var detail = $"{c.Source}: certificate {c.Leaf.Subject} ('{c.CertificateFile}') expires on {c.NotAfter:yyyy-MM-dd HH:mm} UTC, in {left.TotalDays:0.#} days";
            _log.LogWarning("TLS: {Detail}", detail);
            _system()?.EventStream.Publish(ProxEvent.Create(now, ProxEventKinds.CertificateExpiring, null, null, detail));
        }
    }

    /// <summary>The <c>tls</c> part of <c>/status</c>; null without TLS listeners (left out).</summary>
    public TlsStatus? Status(DateTimeOffset now) => !Enabled ? null : new TlsStatus(_tls.MinVersion,
        [.. _set.All.Select(c => new CertificateStatus(c.Source, c.Hosts, c.Leaf.Subject, c.Leaf.Issuer, c.NotAfter,
            Math.Round((c.NotAfter - now).TotalDays, 1), c.CertificateFile, c.Leaf.Thumbprint))], _lastErrors);

    public void Dispose() => _poll?.Dispose();

    /// <summary>Last-write time and length of every file of a set: a change of either reloads it.</summary>
    private string StampOf(TlsConfig tls)
    {
        var files = tls.Certificates.SelectMany(c => new[] { c.Certificate, c.Key })
            .Concat(_listeners.SelectMany(l => new[] { l.Certificate, l.Key }).OfType<string>());
        return string.Join("|", files.Select(f =>
        {
            var info = new FileInfo(CertificateFiles.Resolve(f, _baseDirectory));
            return info.Exists ? $"{info.FullName}:{info.LastWriteTimeUtc.Ticks}:{info.Length}" : $"{info.FullName}:-";
        }));
    }

    private sealed record CertificateSet(
        FrozenDictionary<string, LoadedCertificate> ByListener,
        FrozenDictionary<string, LoadedCertificate> Exact,
        KeyValuePair<string, LoadedCertificate>[] Wildcards,
        List<LoadedCertificate> All)
    {
        public static readonly CertificateSet Empty = new(FrozenDictionary<string, LoadedCertificate>.Empty,
            FrozenDictionary<string, LoadedCertificate>.Empty, [], []);

        public LoadedCertificate? Select(string listener, string? serverName)
        {
            if (!string.IsNullOrEmpty(serverName))
            {
                var name = serverName.ToLowerInvariant();
                if (Exact.TryGetValue(name, out var exact)) return exact;
                // longest suffix first; "*.example.com" covers one label: a.example.com, not a.b.example.com
                foreach (var (suffix, c) in Wildcards)
                {
                    if (name.Length > suffix.Length && name.EndsWith(suffix, StringComparison.Ordinal)
                        && name.AsSpan(0, name.Length - suffix.Length).IndexOf('.') < 0)
                        return c;
                }
            }
            return ByListener.GetValueOrDefault(listener);
        }

    }
}

/// <summary>The <c>tls</c> part of <c>/status</c>.</summary>
/// <param name="Errors">Why the last load of the files failed (the certificates shown stay in use); empty when it did not.</param>
public sealed record TlsStatus(string MinVersion, IReadOnlyList<CertificateStatus> Certificates, IReadOnlyList<ConfigError> Errors);

/// <summary>One certificate in use: where it is configured, the names it is chosen for, and when it expires.</summary>
public sealed record CertificateStatus(string Source, System.Collections.Immutable.ImmutableArray<string> Hosts, string Subject,
    string Issuer, DateTimeOffset NotAfter, double DaysLeft, string File, string Thumbprint);

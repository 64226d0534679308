using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Text;

namespace Prox.Actors.Recovery;

/// <summary>Runs one recovery action. The BackendActor calls it off its own thread and pipes the result back;
/// tests substitute a scripted runner to drive the actor in virtual time.</summary>
public interface IRecoveryRunner
{
    /// <summary>Never throws: every failure (status, exit code, timeout, start error) comes back as a failed result.</summary>
    Task<RecoveryActionResult> RunAsync(RecoveryConfig cfg, CancellationToken ct);
}

/// <summary>
/// Runs HTTP actions on its own connection pool (no proxy, no redirects, no cookies) and commands as child
/// processes started directly, never through a shell, so config text cannot inject shell syntax. Keeps the
/// first <see cref="MaxOutput"/> bytes of a response or of the process's output for the attempt's detail,
/// and kills the whole process tree when the timeout passes.
/// </summary>
public sealed class RecoveryRunner : IRecoveryRunner, IDisposable
{
    /// <summary>How much of a response body, or of stdout and of stderr, the detail keeps.</summary>
    public const int MaxOutput = 1024;

    /// <summary>After the process exits, how long to wait for its output to end. A child the command left
    /// running in the background (a restarted server) keeps the pipes open, and must not stall the result.</summary>
    private static readonly TimeSpan OutputGrace = TimeSpan.FromMilliseconds(250);

    private readonly HttpClient _client = Net.OwnHttp.CreateClient();

    public Task<RecoveryActionResult> RunAsync(RecoveryConfig cfg, CancellationToken ct) =>
        cfg.Http is { } http ? RunHttpAsync(http, cfg.Timeout, ct)
        : !cfg.Command.IsDefaultOrEmpty ? RunCommandAsync(cfg.Command, cfg.Timeout, ct)
        : Task.FromResult(new RecoveryActionResult(false, "no action configured", TimeSpan.Zero));

    private async Task<RecoveryActionResult> RunHttpAsync(RecoveryHttp http, TimeSpan timeout, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            using var req = new HttpRequestMessage(new HttpMethod(http.Method), http.Url);
            req.Headers.UserAgent.ParseAdd("prox-recovery/1");
            if (http.Body is not null)
                req.Content = new StringContent(http.Body, Encoding.UTF8, "text/plain");
            foreach (var (name, value) in http.Headers.IsDefault ? [] : http.Headers)
            {
                // content headers (Content-Type, …) belong to the content; TryAddWithoutValidation keeps values verbatim
                if (!req.Headers.TryAddWithoutValidation(name, value) && req.Content is not null)
                {
                    req.Content.Headers.Remove(name);
                    req.Content.Headers.TryAddWithoutValidation(name, value);
                }
            }
            using var resp = await _client.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            await using var stream = await resp.Content.ReadAsStreamAsync(cts.Token);
            var body = await ReadPrefixAsync(stream, cts.Token);
            var status = (int)resp.StatusCode;
            var detail = $"HTTP {status}" + (body.Length == 0 ? "" : ": " + body);
            return new RecoveryActionResult(status is >= 200 and <= 299, detail, Stopwatch.GetElapsedTime(started));
        }
        catch (OperationCanceledException)
        {
            return Failed(ct.IsCancellationRequested ? "cancelled" : $"no answer within {timeout.TotalMilliseconds:0} ms");
        }
        catch (HttpRequestException e)
        {
            return Failed(Net.OwnHttp.Describe(e));
        }
        catch (IOException e)
        {
            return Failed(e.Message);
        }

        RecoveryActionResult Failed(string why) => new(false, why, Stopwatch.GetElapsedTime(started));
    }

    private static async Task<RecoveryActionResult> RunCommandAsync(
        IReadOnlyList<string> command, TimeSpan timeout, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var psi = new ProcessStartInfo(command[0])
        {
            UseShellExecute = false, // no shell: arguments go to the program verbatim
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        for (var i = 1; i < command.Count; i++) psi.ArgumentList.Add(command[i]);

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("no process was started");
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException or PlatformNotSupportedException)
        {
            return new RecoveryActionResult(false, $"could not start {command[0]}: {e.Message}", Stopwatch.GetElapsedTime(started));
        }

        using (process)
        {
            process.StandardInput.Close(); // the action gets no input, and must not wait for any
            var stdout = new BoundedReader(process.StandardOutput.BaseStream);
            var stderr = new BoundedReader(process.StandardError.BaseStream);

            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(timeout);
            string? killed = null;
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                killed = ct.IsCancellationRequested ? "cancelled" : $"no exit within {timeout.TotalMilliseconds:0} ms";
                Kill(process);
                // the kill is done; wait for the exit to be reaped so ExitCode and the pipes settle
                using var reap = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                try { await process.WaitForExitAsync(reap.Token); }
                catch (OperationCanceledException) { killed += " (and it did not die within 5 s)"; }
            }

            await Task.WhenAny(Task.WhenAll(stdout.Completion, stderr.Completion), Task.Delay(OutputGrace, CancellationToken.None));
            var output = Output(stdout.Text, stderr.Text);
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (killed is not null)
                return new RecoveryActionResult(false, $"{killed}; process tree killed{output}", elapsed);
            var code = process.ExitCode;
            return new RecoveryActionResult(code == 0, $"exit code {code}{output}", elapsed);
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // it exited between the timeout and the kill: nothing left to kill
        }
        catch (Win32Exception)
        {
            // some descendant could not be killed (already gone, or not ours); the wait below reports if the process lives on
        }
    }

    private static string Output(string stdout, string stderr)
    {
        var sb = new StringBuilder();
        if (stdout.Length > 0) sb.Append("; stdout: ").Append(stdout);
        if (stderr.Length > 0) sb.Append("; stderr: ").Append(stderr);
        return sb.ToString();
    }

    private static async Task<string> ReadPrefixAsync(Stream stream, CancellationToken ct)
    {
        var buf = new byte[MaxOutput];
        var read = 0;
        int n;
        while (read < buf.Length && (n = await stream.ReadAsync(buf.AsMemory(read), ct)) > 0) read += n;
        return Clean(Encoding.UTF8.GetString(buf, 0, read));
    }

    /// <summary>One line of text for an event: whitespace runs (newlines included) become one space.</summary>
    private static string Clean(string text) =>
        string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    /// <summary>Drains a pipe to its end (so the child never blocks on a full pipe) and keeps the first bytes.</summary>
    private sealed class BoundedReader
    {
        private readonly byte[] _kept = new byte[MaxOutput];
        private int _length;

        public BoundedReader(Stream stream) => Completion = PumpAsync(stream);

        public Task Completion { get; }

        public string Text
        {
            get
            {
                lock (_kept) return Clean(Encoding.UTF8.GetString(_kept, 0, _length));
            }
        }

        private async Task PumpAsync(Stream stream)
        {
            var buf = new byte[4096];
            try
            {
                int n;
                while ((n = await stream.ReadAsync(buf)) > 0)
                {
                    lock (_kept)
                    {
                        var take = Math.Min(n, _kept.Length - _length);
                        Array.Copy(buf, 0, _kept, _length, take);
                        _length += take;
                    }
                }
            }
            catch (IOException)
            {
                // the pipe broke or was closed with the process: the bytes kept so far are the output
            }
            catch (ObjectDisposedException)
            {
                // the process (and its streams) were disposed while a background child kept the pipe open
            }
        }
    }

    public void Dispose() => _client.Dispose();
}

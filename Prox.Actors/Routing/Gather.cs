using Akka.Actor;

namespace Prox.Actors.Routing;

/// <summary>Asks several actors the same question and pipes one combined answer to a reply-to.</summary>
internal static class Gather
{
    /// <summary>Sends <paramref name="question"/> to every actor; when all answer, pipes
    /// <c>combine(answers)</c> (in the order of <paramref name="actors"/>) to <paramref name="replyTo"/>,
    /// or a <see cref="Status.Failure"/> if any fails or times out. Never blocks the calling actor.</summary>
    /// <param name="fallback">When set, stands in for the answer of actor <c>i</c> that failed or timed out
    /// (instead of failing the whole reply).</param>
    public static void AskAll<T>(IEnumerable<IActorRef> actors, object question, TimeSpan timeout,
        IActorRef replyTo, Func<T[], object> combine, Func<int, T>? fallback = null)
    {
        var list = actors.ToArray();
        AskAll(list, list.Select(_ => question).ToArray(), timeout, replyTo, combine, fallback);
    }

    /// <summary>As above, with a question per actor.</summary>
    public static void AskAll<T>(IActorRef[] actors, object[] questions, TimeSpan timeout,
        IActorRef replyTo, Func<T[], object> combine, Func<int, T>? fallback = null)
    {
        var asks = actors.Select((a, i) => fallback is null ? a.Ask<T>(questions[i], timeout) : AskOr(a, questions[i], timeout, i, fallback))
            .ToArray();
        Task.WhenAll(asks).ContinueWith(t => t.IsCompletedSuccessfully
                ? combine(t.Result)
                : new Status.Failure(t.Exception?.GetBaseException() ?? new TimeoutException("no answer")),
                TaskContinuationOptions.ExecuteSynchronously)
            .PipeTo(replyTo);
    }

    private static async Task<T> AskOr<T>(IActorRef actor, object question, TimeSpan timeout, int index, Func<int, T> fallback)
    {
        try
        {
            // an actor between incarnations is answered for by its supervisor (Restarting), or not at all
            return await actor.Ask<object>(question, timeout) is T answer ? answer : fallback(index);
        }
        catch (Exception ex) when (ex is AskTimeoutException or TaskCanceledException)
        {
            return fallback(index);
        }
    }
}

// Routes: every object has its own URL. Each screen is its own chunk (React.lazy), so
// the first load carries only this shell. react-router (declarative mode) rather than a
// router of our own: links that honour modifier keys, search params, nested layouts and
// relative paths are what the later screens (tabs of a run, filters in the URL) need,
// and it is the router the next person already knows.
import { lazy, Suspense } from "react";
import { Route, Routes } from "react-router";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { Layout } from "./components/Layout";
import { Loading } from "./components/Loading";
import { RequireAuth, SessionWatcher } from "./components/RequireAuth";

const SignInPage = lazy(() => import("./pages/sign-in/SignInPage"));
const RegisterPage = lazy(() => import("./pages/register/RegisterPage"));
const HomePage = lazy(() => import("./pages/home/HomePage"));
const DatasetsPage = lazy(() => import("./pages/datasets/DatasetsPage"));
const DatasetPage = lazy(() => import("./pages/dataset/DatasetPage"));
const TrainingJobsPage = lazy(() => import("./pages/training-jobs/TrainingJobsPage"));
const TrainingRunPage = lazy(() => import("./pages/training-run/TrainingRunPage"));
const NotFoundPage = lazy(() => import("./pages/not-found/NotFoundPage"));

export function App() {
  return (
    <Layout>
      <SessionWatcher />
      <ErrorBoundary>
        <Suspense fallback={<Loading />}>
          <Routes>
            <Route path="/sign-in" element={<SignInPage />} />
            <Route path="/register" element={<RegisterPage />} />
            <Route element={<RequireAuth />}>
              <Route path="/" element={<HomePage />} />
              <Route path="/datasets" element={<DatasetsPage />} />
              <Route path="/datasets/:datasetId" element={<DatasetPage />} />
              <Route path="/training" element={<TrainingJobsPage />} />
              <Route path="/training/:jobId" element={<TrainingRunPage />} />
              <Route path="*" element={<NotFoundPage />} />
            </Route>
          </Routes>
        </Suspense>
      </ErrorBoundary>
    </Layout>
  );
}

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
const NewTrainingPage = lazy(() => import("./pages/new-training/NewTrainingPage"));
const TrainingResultsPage = lazy(() => import("./pages/training-results/TrainingResultsPage"));
const ExportsPage = lazy(() => import("./pages/exports/ExportsPage"));
const TestRunsPage = lazy(() => import("./pages/test-runs/TestRunsPage"));
const TestRunPage = lazy(() => import("./pages/test-run/TestRunPage"));
const DeploymentsPage = lazy(() => import("./pages/deployments/DeploymentsPage"));
const DeploymentPage = lazy(() => import("./pages/deployment/DeploymentPage"));
const UsagePage = lazy(() => import("./pages/usage/UsagePage"));
const AccountPage = lazy(() => import("./pages/account/AccountPage"));
const WebhooksPage = lazy(() => import("./pages/webhooks/WebhooksPage"));
const WebhookPage = lazy(() => import("./pages/webhook/WebhookPage"));
const WeightsPage = lazy(() => import("./pages/weights/WeightsPage"));
const ProjectsPage = lazy(() => import("./pages/projects/ProjectsPage"));
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
              <Route path="/training/new" element={<NewTrainingPage />} />
              <Route path="/training/:jobId" element={<TrainingRunPage />} />
              <Route path="/training/:jobId/results" element={<TrainingResultsPage />} />
              <Route path="/training/:jobId/exports" element={<ExportsPage />} />
              <Route path="/test-runs" element={<TestRunsPage />} />
              <Route path="/test-runs/:testRunId" element={<TestRunPage />} />
              <Route path="/deployments" element={<DeploymentsPage />} />
              <Route path="/deployments/:deploymentId" element={<DeploymentPage />} />
              <Route path="/usage" element={<UsagePage />} />
              <Route path="/account" element={<AccountPage />} />
              <Route path="/webhooks" element={<WebhooksPage />} />
              <Route path="/webhooks/:webhookId" element={<WebhookPage />} />
              <Route path="/weights" element={<WeightsPage />} />
              <Route path="/projects" element={<ProjectsPage />} />
              <Route path="*" element={<NotFoundPage />} />
            </Route>
          </Routes>
        </Suspense>
      </ErrorBoundary>
    </Layout>
  );
}

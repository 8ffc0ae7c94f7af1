// The console's entry: languages, the session, the one live stream and the
// routes. The sign-in page is all the first load fetches; the console
// behind it is loaded after sign-in.
import { App as AntApp, ConfigProvider } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import { lazy, StrictMode, Suspense } from 'react';
import { createRoot } from 'react-dom/client';
import { useTranslation } from 'react-i18next';
import { BrowserRouter } from 'react-router';
import './i18n';
import { Login } from './pages/Login';
import { SessionProvider, useSession } from './session';

// People who ask their system for less motion get none: dialogs and menus
// appear at once (the browser journeys ask for it too, so a click never
// lands on a dialog still zooming in).
const reducedMotion = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches ?? false;

const Console = lazy(() => import('./Console'));

function Pages() {
  const { me, checked } = useSession();
  const { t } = useTranslation();
  if (!checked) return <div style={{ padding: 24 }}>{t('common.loading')}</div>;
  if (!me) return <Login />;
  return <Console />;
}

function Root() {
  const { i18n } = useTranslation();
  const zh = i18n.language !== 'en';
  dayjs.locale(zh ? 'zh-cn' : 'en');
  // Buttons keep Chinese labels whole (no space between two characters);
  // every select finds its option by typing, for keyboard users and long lists.
  return (
    <ConfigProvider locale={zh ? zhCN : enUS} button={{ autoInsertSpace: false }} select={{ showSearch: true }} theme={{ token: { colorPrimary: '#1d4ed8', motion: !reducedMotion } }}>
      <AntApp>
        <SessionProvider>
          <BrowserRouter>
            <Suspense>
              <Pages />
            </Suspense>
          </BrowserRouter>
        </SessionProvider>
      </AntApp>
    </ConfigProvider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Root />
  </StrictMode>,
);

/**
 * @module dashboard/app/main
 * The dashboard's entry: styles, then the app into `#app`.
 */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { App } from './app.js';

render(<App />, document.getElementById('app')!);
